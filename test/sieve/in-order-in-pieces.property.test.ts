/**
 * RFC 5228 2.7.1 :matches with keys `S0*S1*...*Sn*` over a value read in
 * pieces (in-order-in-pieces.ts) answers as :matches over the whole value,
 * for any split and both comparators that fold character by character;
 * body.ts's inOrder recognises exactly the keys of that form; the scan is
 * charged to the run's CPU budget and lets a time-sliced run's event loop
 * go.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesMatch } from '../../src/sieve/match/basic-match.js';
import { inOrder } from '../../src/sieve/extensions/body.js';
import type { Bound } from '../../src/sieve/registry.js';
import { asciiCasemap, octet, unicodeCasemap } from '../../src/sieve/match/comparators.js';
import { inOrderInPieces } from '../../src/sieve/match/in-order-in-pieces.js';
import { CpuBudget } from '../../src/sieve/runtime/cpu-budget.js';
import { piecesOf, yieldsInSlices } from './match-in-pieces.js';

const matching = { matchType: { def: matchesMatch } } as unknown as Bound;
const matches = (value: string, keys: string[], cmp: typeof octet) => keys.some((k) => matchesMatch.matchOne!(value, k, { cmp } as never) !== false);
const text = fc.array(fc.constantFrom('a', 'B', 'b', 'A', 'ab', 'ba', ' ', '\r\n', 'ü', '😀', '*', '\\'), { maxLength: 40 }).map((cs) => cs.join(''));

describe(':matches "S0*S1*...*Sn*" over a value in pieces', () => {
  it('answers as :matches over the whole value', async () => {
    // Keys: stars around texts, some cut from the value (so they occur, perhaps across a split, perhaps out of order), with escapes.
    const segment = fc.oneof(fc.constantFrom('a', 'b', 'ab', 'Ba', 'aa', 'ü', '\\*', '\\\\', ''), fc.tuple(fc.nat(), fc.nat({ max: 6 })));
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.tuple(fc.option(segment), fc.array(segment, { maxLength: 4 })), { minLength: 1, maxLength: 3 }), fc.boolean(), async (value, cuts, specs, caseless) => {
        const cmp = caseless ? asciiCasemap : octet;
        // Cut by characters: a key is text, never half a surrogate pair.
        const chars = Array.from(value);
        const cut = ([at, n]: [number, number]) => chars.slice(at % (chars.length + 1), (at % (chars.length + 1)) + n).join('').replace(/[*?\\]/g, '\\$&');
        const spelled = (s: string | [number, number]) => (typeof s === 'string' ? s : cut(s));
        // A start S0 (the value's beginning, when cut at 0), or none: a key that begins with a star.
        const keys = specs.map(([start, segments]) => `${start === null ? '*' : `${spelled(start)}*`}${segments.map(spelled).join('*')}${segments.length ? '*' : ''}`);
        const ordered = inOrder(matching, keys, cmp);
        expect(ordered).toBeDefined();
        expect(await inOrderInPieces(piecesOf(value, cuts), ordered!, cmp, new CpuBudget(60_000))).toBe(matches(value, keys, cmp));
      }),
      { numRuns: 3000 },
    );
  });

  it('recognises the keys of that form, and only those', () => {
    const glob = fc.array(fc.constantFrom('*', '?', 'a', 'B', '\\*', '\\?', '\\', 'é'), { maxLength: 7 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(fc.array(glob, { minLength: 1, maxLength: 3 }), fc.array(text, { maxLength: 4 }), fc.boolean(), (keys, values, caseless) => {
        const cmp = caseless ? asciiCasemap : octet;
        const ordered = inOrder(matching, keys, cmp);
        if (!ordered) return;
        // What is recognised answers as :matches does, searched for in order in the whole value.
        for (const v of values) {
          const folded = cmp.fold!(v);
          const found = ordered.some(({ start, texts }) => {
            if (!folded.startsWith(start)) return false;
            let from = start.length;
            for (const s of texts) {
              const at = folded.indexOf(s, from);
              if (at < 0) return false;
              from = at + s.length;
            }
            return true;
          });
          expect(found).toBe(matches(v, keys, cmp));
        }
      }),
      { numRuns: 3000 },
    );
    const of = (keys: string[]) => inOrder(matching, keys, asciiCasemap);
    const inOrderKey = (start: string, ...texts: string[]) => ({ start, texts });
    expect(of(['*Nothing*Like*This*', '**x**', '*', '*\\**a*'])).toEqual([inOrderKey('', 'nothing', 'like', 'this'), inOrderKey('', 'x'), inOrderKey(''), inOrderKey('', '*', 'a')]);
    // Momentum's example (sieve-ref-body), and Pigeonhole's "Plain Text*".
    expect(of(['The * bad * test*', 'Plain Text*'])).toEqual([inOrderKey('the ', ' bad ', ' test'), inOrderKey('plain text')]);
    expect(of(['*a?b*'])).toBeUndefined();
    expect(of(['a?*b*'])).toBeUndefined();
    expect(of(['*a*b'])).toBeUndefined();
    expect(of(['ab'])).toBeUndefined();
    // Past a few keys the body is read whole: an ordered search cannot be split into windows.
    expect(of(Array.from({ length: 17 }, (_, i) => `*a*${i}*`))).toBeUndefined();
    expect(inOrder(matching, ['*a*b*'], unicodeCasemap)).toBeUndefined();
  });

  it('stops at the CPU budget over a value that never ends', async () => {
    const big = 'y'.repeat(1 << 16);
    async function* endless(): AsyncGenerator<string> {
      for (;;) yield big;
    }
    const keys = Array.from({ length: 8 }, (_, i) => ({ start: '', texts: [`key ${i}`, 'then'] }));
    await expect(inOrderInPieces(endless(), keys, asciiCasemap, new CpuBudget(50))).rejects.toThrow(/CPU time limit of 50 ms/);
  });

  it('lets the event loop go in a time-sliced run', async () => {
    const keys = Array.from({ length: 16 }, (_, i) => ({ start: i % 2 ? '' : 'y', texts: [`key ${i}`, 'then'] }));
    // Two long pieces: each read gives a fresh slice, so the scan of one piece must outlast a slice.
    await yieldsInSlices((budget) => inOrderInPieces(piecesOf('y'.repeat(1 << 23), [1 << 22]), keys, asciiCasemap, budget), false);
  });
});
