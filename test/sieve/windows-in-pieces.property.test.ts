/**
 * A :regex over a body read in windows (windows-in-pieces.ts, cut by what
 * regex-reach.ts reads of the compiled pattern) answers as the same :regex
 * over the whole value: for patterns with `\b`, `\B`, multi-line `^` and
 * `$`, classes, bounded repeats and alternatives, over values of words,
 * spaces, line ends, digits, `_`, and characters outside ASCII and the
 * BMP, in any pieces and any window size; and for patterns with repeats,
 * whose matches have no bound (`a.*b`, `a\s+b`, `[^a]*`), in windows that
 * begin far enough back. Patterns whose repeats read every character, or
 * that need the value's own ends, are not matched in windows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asciiCasemap, octet } from '../../src/sieve/match/comparators.js';
import { compileRegex, regexMatch } from '../../src/sieve/match/regex-match.js';
import { regexReach } from '../../src/sieve/match/regex-reach.js';
import { WindowTooLong, windowsInPieces } from '../../src/sieve/match/windows-in-pieces.js';
import { CpuBudget } from '../../src/sieve/runtime/cpu-budget.js';
import { piecesOf } from './match-in-pieces.js';

const matches = (value: string, pattern: string, cmp: typeof octet) => regexMatch.matchOne!(value, pattern, { cmp } as never) !== false;

async function inWindows(value: string, cuts: number[], pattern: string, cmp: typeof octet, chars: number, maxChars = 1 << 20): Promise<boolean> {
  const re = compileRegex(pattern, cmp);
  if (typeof re === 'string') throw new Error(re);
  const reach = regexReach(re)!;
  for await (const w of windowsInPieces(piecesOf(value, cuts), reach, chars, maxChars, new CpuBudget(60_000))) if (matches(w, pattern, cmp)) return true;
  return false;
}

const value = fc.array(fc.constantFrom('a', 'b', 'ab', 'ba', 'A', ' ', '\n', '\r\n', '_', '1', 'é', '😀', 'x'), { maxLength: 60 }).map((cs) => cs.join(''));
const pattern = fc.constantFrom(
  'ab', 'a.b', 'a.{3}b', '\\bab\\b', '\\Bb', 'b\\B', '(?m)^a', '(?m)b$', '(?m)^ab$', '(?m)^$', '\\b', '[0-9_]a', 'a|b\\b', '(ab){2}',
  '😀.', '.😀', 'é\\b', '\\bx', 'a\\s+b'.replace('+', '{1,3}'), '(?s)a.b', 'a\\nb', 'b\\r\\n', '(?m)a$\\n^b', 'x?', '[^ab]{2}',
  // With repeats: matches of no bound.
  'a.*b', 'b.+', 'a+', '\\ba[^\\n]*x', '(?m)^.*é$', 'x.*😀', '[ab_]*1', '(ab)+ ', 'a\\s+b', 'b\\s*\\ba', '[^a]*x', '[^ab]+1', 'x(\\r\\n|\\s)+é',
  'a[\\n]*b', '(?m)^\\s*$', '😀[^x]*😀', 'é[^ab]{2,}', '(?i)A\\s*B',
);

describe(':regex over a value in windows', () => {
  it('answers as :regex over the whole value', async () => {
    await fc.assert(
      fc.asyncProperty(value, fc.array(fc.nat(), { maxLength: 8 }), pattern, fc.boolean(), fc.integer({ min: 1, max: 12 }), async (v, cuts, p, caseless, chars) => {
        const cmp = caseless ? asciiCasemap : octet;
        expect(await inWindows(v, cuts, p, cmp, chars)).toBe(matches(v, p, cmp));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads the reach of a pattern: bounded matches, and which edges its assertions see', () => {
    const reach = (p: string) => {
      const re = compileRegex(p, octet);
      return typeof re === 'string' ? re : regexReach(re);
    };
    expect(reach('abc')).toEqual({ units: 6, edges: 'none' });
    expect(reach('a.{20}x')).toEqual({ units: 44, edges: 'none' });
    // Momentum's example (sieve-enhancements): in RE2, `{,3}` is the text "{,3}".
    expect(reach('\\bv[il1][a4].{,3}[gk].{,2}r[a4]\\b')).toEqual({ units: 32, edges: 'word' });
    expect(reach('(?m)^a$')).toEqual({ units: 2, edges: 'line' });
    expect(reach('a|bcd')).toEqual({ units: 6, edges: 'none' });
    // With repeats: what a match holds besides them, and what they read.
    const repeats = (p: string) => {
      const r = reach(p);
      if (typeof r !== 'object') return r;
      const [x] = r.repeats!;
      return { units: r.units, edges: r.edges, fixed: x!.fixed, loops: [...'a \n😀é'].map((c) => x!.loops.has(c.codePointAt(0)!)), reads: [...'a \n😀é'].map((c) => x!.reads.has(c.codePointAt(0)!)) };
    };
    expect(repeats('no such.*text')).toEqual({ units: 0, edges: 'none', fixed: 11, loops: [true, true, false, true, true], reads: [true, true, false, true, true] });
    expect(repeats('a\\s+b')).toEqual({ units: 0, edges: 'none', fixed: 2, loops: [false, true, true, false, false], reads: [true, true, true, false, false] });
    expect(repeats('(?m)^a+$')).toEqual({ units: 0, edges: 'line', fixed: 0, loops: [true, false, false, false, false], reads: [true, false, false, false, false] });
    expect(repeats('[^a]*')).toMatchObject({ fixed: 0, loops: [false, true, true, true, true] });
    // Repeats that read every character, or needing the value's own start or end: matched whole.
    for (const p of ['(?s)a.*b', '(.|\\n)*', '[\\s\\S]+', '^a', 'a$', '\\Aa', 'a\\z', '^a.*']) expect(reach(p)).toBeUndefined();
  });

  it('never cuts a window inside a surrogate pair', async () => {
    // Half of 😀 is a character that is not 😀: a window cut inside a pair would match.
    for (const chars of [1, 2, 3, 5]) expect(await inWindows('😀'.repeat(9), [3, 7, 8], '[^😀]', octet, chars)).toBe(false);
    expect(await inWindows('😀'.repeat(9), [3, 7, 8], '\\b😀', octet, 2)).toBe(false);
  });

  it('gives up on a line longer than the limit, for a pattern that must cut at line ends', async () => {
    await expect(inWindows('a'.repeat(5000), [1000, 2000, 3000, 4000], '(?m)^a', octet, 10, 1000)).rejects.toBeInstanceOf(WindowTooLong);
    // Without assertions it cuts anywhere.
    expect(await inWindows(`${'a'.repeat(5000)}b`, [1000, 2000, 3000, 4000], 'ab', octet, 10, 1000)).toBe(true);
  });
});
