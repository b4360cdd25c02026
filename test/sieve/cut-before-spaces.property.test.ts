/**
 * i;unicode-casemap (RFC 5051: titlecase and NFKD) folds a value read in
 * pieces as it folds the whole, once the pieces are cut again before
 * spaces and line breaks (src/sieve/match/cut-before-spaces.ts): over
 * text with combining marks, capital sigmas at words' ends, compatibility
 * characters and case changes of another length, cut anywhere. A body
 * test with that comparator then reads a large body as it comes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unicodeCasemap } from '../../src/sieve/match/comparators.js';
import { containsMatch } from '../../src/sieve/match/basic-match.js';
import { containsInPieces } from '../../src/sieve/match/contains-in-pieces.js';
import { cutBeforeSpaces, NoPlaceToCut } from '../../src/sieve/match/cut-before-spaces.js';
import { CpuBudget } from '../../src/sieve/runtime/cpu-budget.js';
import { piecesOf } from './match-in-pieces.js';

const fold = unicodeCasemap.fold!;
const text = fc
  .array(fc.constantFrom('a', 'Σ', 'ΑΣ', 'σ', 'ς', 'e\u0301', '\u0301', '\u0323\u0301', 'é', 'ß', 'ﬁ', 'İ', 'Ǆ', '½', ' ', '\r\n', '\t', "'", '.', 'x', 'SS', 'A\u030a', 'Å'), { maxLength: 40 })
  .map((cs) => cs.join(''));

async function all(pieces: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const p of pieces) out.push(p);
  return out;
}

describe('pieces cut before spaces', () => {
  it('fold, one by one, to what the whole value folds to (property)', async () => {
    // Folding the pieces as they come, cut anywhere, is not folding the value: the reason for the cut.
    expect(fold('e') + fold('\u0323\u0301')).toBe(fold('e\u0323\u0301'));
    expect(fold('e\u0301') + fold('\u0323')).not.toBe(fold('e\u0301\u0323'));
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 8 }), async (value, cuts) => {
        const pieces = await all(cutBeforeSpaces(piecesOf(value, cuts), 1 << 20));
        expect(pieces.join('')).toBe(value);
        expect(pieces.map(fold).join('')).toBe(fold(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('lets :contains with i;unicode-casemap answer over the pieces as over the whole value (property)', async () => {
    const key = fc.constantFrom('σ', 'ς', 'ασ', 'é', 'e\u0301', 'ss', 'fi', 'å', 'a', 'x y', '1/2');
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 8 }), fc.array(key, { minLength: 1, maxLength: 3 }), async (value, cuts, keys) => {
        const whole = keys.some((k) => containsMatch.matchOne!(value, k, { cmp: unicodeCasemap } as never) !== false);
        const perPiece = { ...unicodeCasemap, foldsEachCharacter: true };
        expect(await containsInPieces(cutBeforeSpaces(piecesOf(value, cuts), 1 << 20), keys, perPiece, new CpuBudget(60_000))).toBe(whole);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives up on a stretch without a space longer than the limit', async () => {
    await expect(all(cutBeforeSpaces(piecesOf('x'.repeat(5000), [1000, 2000, 3000, 4000]), 1500))).rejects.toBeInstanceOf(NoPlaceToCut);
    expect(await all(cutBeforeSpaces(piecesOf(`${'x'.repeat(1000)} ${'y'.repeat(1000)}`, [600, 1500]), 1500))).toEqual(['x'.repeat(1000), ` ${'y'.repeat(1000)}`]);
  });
});
