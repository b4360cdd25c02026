/**
 * RFC 5228 2.7.1 :matches with keys `S0*S1*...*Sn` (with `?` anywhere)
 * over a value read in pieces (in-order-in-pieces.ts) answers as :matches
 * over the whole value, for any split (surrogate pairs too) and both
 * comparators that fold character by character; body.ts's inOrder
 * recognises exactly the keys with a `*`; the scan is charged to the run's
 * CPU budget and lets a time-sliced run's event loop go.
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
    // Keys: stars around texts, some cut from the value (so they occur, perhaps across a split, perhaps out of
    // order), with escapes and `?` (one character: a pair is one), anchored at the start, the end, both or neither.
    const segment = fc.oneof(fc.constantFrom('a', 'b', 'ab', 'Ba', 'aa', 'ü', '\\*', '\\\\', '', '?', 'a?', '?b', '??', '😀?'), fc.tuple(fc.nat(), fc.nat({ max: 6 }), fc.nat({ max: 8 })));
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.tuple(fc.option(segment), fc.array(segment, { maxLength: 4 }), fc.option(segment)), { minLength: 1, maxLength: 3 }), fc.boolean(), async (value, cuts, specs, caseless) => {
        const cmp = caseless ? asciiCasemap : octet;
        // Cut by characters: a key is text, never half a surrogate pair; some characters become `?`.
        const chars = Array.from(value);
        const cut = ([at, n, hole]: [number, number, number]) =>
          chars
            .slice(at % (chars.length + 1), (at % (chars.length + 1)) + n)
            .map((c, i) => (i === hole ? '?' : c.replace(/[*?\\]/g, '\\$&')))
            .join('');
        const spelled = (s: string | [number, number, number]) => (typeof s === 'string' ? s : cut(s));
        // A start S0, or none (the key begins with a star); texts; an end Sn, or none (the key ends with a star).
        const keys = specs.map(([start, segments, end]) => `${start === null ? '' : spelled(start)}*${segments.map((x) => `${spelled(x)}*`).join('')}${end === null ? '' : spelled(end)}`);
        const ordered = inOrder(matching, keys, cmp);
        expect(ordered).toBeDefined();
        expect(await inOrderInPieces(piecesOf(value, cuts), ordered!, cmp, new CpuBudget(60_000))).toBe(matches(value, keys, cmp));
      }),
      { numRuns: 4000 },
    );
  });

  it('reads a `?` as one character when a piece ends inside a surrogate pair', async () => {
    // "a?" takes the whole pair, so nothing is left for "?b" before the "b": no match, however the value is cut.
    const key = inOrder(matching, ['*a?*?b*'], octet)!;
    for (const cuts of [[], [2], [1, 2, 3]]) expect(await inOrderInPieces(piecesOf('a😀b', cuts), key, octet, new CpuBudget(60_000))).toBe(false);
    expect(await inOrderInPieces(piecesOf('a😀xb', [2]), key, octet, new CpuBudget(60_000))).toBe(true);
  });

  it('recognises the keys with a star, and only those', () => {
    const glob = fc.array(fc.constantFrom('*', '?', 'a', 'B', '\\*', '\\?', '\\', 'é'), { maxLength: 7 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(fc.array(glob, { minLength: 1, maxLength: 3 }), fc.boolean(), (keys, caseless) => {
        const cmp = caseless ? asciiCasemap : octet;
        const starred = (k: string) => /(^|[^\\])(\\\\)*\*/.test(k);
        expect(inOrder(matching, keys, cmp) !== undefined).toBe(keys.every(starred));
      }),
      { numRuns: 3000 },
    );
    const of = (keys: string[]) => inOrder(matching, keys, asciiCasemap);
    const inOrderKey = (start: string, ...texts: string[]) => ({ start, texts });
    expect(of(['*Nothing*Like*This*', '**x**', '*', '*\\**a*'])).toEqual([inOrderKey('', 'nothing', 'like', 'this'), inOrderKey('', 'x'), inOrderKey(''), inOrderKey('', '*', 'a')]);
    // Momentum's example (sieve-ref-body), and Pigeonhole's "Plain Text*".
    expect(of(['The * bad * test*', 'Plain Text*'])).toEqual([inOrderKey('the ', ' bad ', ' test'), inOrderKey('plain text')]);
    expect(of(['*a?b*', 'a?*b', '*a*b'])).toEqual([{ start: '', texts: [['a', null, 'b']] }, { start: ['a', null], texts: [], end: 'b' }, { start: '', texts: ['a'], end: 'b' }]);
    expect(of(['ab'])).toBeUndefined();
    expect(of(['a\\*b'])).toBeUndefined();
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
