/**
 * RFC 5228 2.7.1 :contains over a value read in pieces
 * (contains-in-pieces.ts) answers as :contains over the whole value, for
 * any split, any keys (across a split, at the ends, empty, repeated) and
 * both comparators that fold character by character, scanning each piece
 * or handing windows of pieces to a matcher of whole values; it charges
 * the run's CPU budget as it scans and lets a time-sliced run's event loop
 * go.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { containsMatch, matchesMatch } from '../../src/sieve/match/basic-match.js';
import { substrings } from '../../src/sieve/extensions/body.js';
import type { Bound } from '../../src/sieve/registry.js';
import { asciiCasemap, octet, unicodeCasemap } from '../../src/sieve/match/comparators.js';
import { containsInPieces } from '../../src/sieve/match/contains-in-pieces.js';
import { CpuBudget } from '../../src/sieve/runtime/cpu-budget.js';
import { piecesOf, yieldsInSlices } from './match-in-pieces.js';

const text = fc.array(fc.constantFrom('a', 'B', 'b', 'A', ' ', '\r\n', 'ü', '😀', 'ab'), { maxLength: 60 }).map((cs) => cs.join(''));

describe(':contains over a value in pieces', () => {
  it('answers as :contains over the whole value', async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.oneof(text, fc.tuple(fc.nat(), fc.nat({ max: 12 }))), { maxLength: 4 }), fc.boolean(), fc.option(fc.integer({ min: 1, max: 30 })), async (value, cuts, keySpecs, caseless, window) => {
        const cmp = caseless ? asciiCasemap : octet;
        // Keys: some arbitrary, some cut from the value (so they occur, perhaps across a split), some of those with their case changed.
        const keys = keySpecs.map((k) => (typeof k === 'string' ? k : value.slice(k[0] % (value.length + 1), (k[0] % (value.length + 1)) + k[1]))).map((k, i) => (i % 2 ? k.toUpperCase() : k));
        const matches = (v: string) => keys.some((k) => containsMatch.matchOne!(v, k, { cmp } as never));
        // Many keys: the pieces gathered into windows of at least `window` characters, each matched as a whole value.
        const windows: string[] = [];
        const wide = window === null ? undefined : { chars: window, match: (v: string) => (windows.push(v), matches(v)) };
        expect(await containsInPieces(piecesOf(value, cuts), keys, cmp, new CpuBudget(10_000), wide)).toBe(matches(value));
        for (const w of windows.slice(0, -1)) expect(w.length).toBeGreaterThanOrEqual(window!);
      }),
      { numRuns: 2000 },
    );
  });

  it('is false for no keys and true for the empty key, even on an empty value', async () => {
    expect(await containsInPieces(piecesOf('', []), [], octet, new CpuBudget(1000))).toBe(false);
    expect(await containsInPieces(piecesOf('', []), [''], octet, new CpuBudget(1000))).toBe(true);
    expect(await containsInPieces(piecesOf('abc', [1, 2]), ['x', ''], asciiCasemap, new CpuBudget(1000))).toBe(true);
  });

  it('refuses a comparator whose fold joins characters', async () => {
    await expect(containsInPieces(piecesOf('abc', []), ['a'], unicodeCasemap, new CpuBudget(1000))).rejects.toThrow(/character by character/);
  });

  it('charges the scan to the CPU budget: over it, the runtime error', async () => {
    const big = 'x'.repeat(1 << 16);
    async function* endless(): AsyncGenerator<string> {
      for (;;) yield big;
    }
    const keys = Array.from({ length: 50 }, (_, i) => `key ${i}`);
    await expect(containsInPieces(endless(), keys, asciiCasemap, new CpuBudget(50))).rejects.toThrow(/CPU time limit of 50 ms/);
  });

  it('lets the event loop go in a time-sliced run', async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `key ${i}`);
    await yieldsInSlices((budget) => containsInPieces(piecesOf('y'.repeat(1 << 20), [1 << 19]), keys, asciiCasemap, budget), false);
  });

  it(':matches keys of the form *text* are substrings: the same answer as :matches over any value', () => {
    const glob = fc.array(fc.constantFrom('*', '?', 'a', 'B', '\\*', '\\?', '\\', 'é'), { maxLength: 6 }).map((cs) => cs.join(''));
    const value = fc.array(fc.constantFrom('a', 'A', 'b', 'B', '*', '?', '\\', 'é', 'É'), { maxLength: 10 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(fc.array(glob, { minLength: 1, maxLength: 3 }), fc.array(value, { maxLength: 4 }), fc.boolean(), (keys, values, caseless) => {
        const cmp = caseless ? asciiCasemap : octet;
        const looked = substrings({ matchType: { def: matchesMatch } } as unknown as Bound, keys, cmp);
        if (!looked) return;
        for (const v of values) {
          const matches = keys.some((k) => matchesMatch.matchOne!(v, k, { cmp } as never) !== false);
          const contains = looked.some((k) => containsMatch.matchOne!(v, k, { cmp } as never));
          expect(contains).toBe(matches);
        }
      }),
      { numRuns: 3000 },
    );
    // Recognised and not: the shapes that are "contains", and those that are not.
    const of = (keys: string[]) => substrings({ matchType: { def: matchesMatch } } as unknown as Bound, keys, asciiCasemap);
    expect(of(['*Viagra*', '**x**', '*', '*\\**'])).toEqual(['viagra', 'x', '', '*']);
    expect(of(['*a?b*'])).toBeUndefined();
    expect(of(['a*'])).toBeUndefined();
    expect(of(['*a*b*'])).toBeUndefined();
    expect(substrings({ matchType: { def: matchesMatch } } as unknown as Bound, ['*a*'], unicodeCasemap)).toBeUndefined();
  });
});
