/**
 * Case-insensitive :regex on long values gets a literal prefilter
 * (src/sieve/match/fold-prefilter.ts): a value that lacks a literal the
 * pattern needs is refused without running re2js's engine, and every
 * answer stays the engine's.
 */
import fc from 'fast-check';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { asciiCasemap, octet, unicodeCasemap } from '../../src/sieve/match/comparators.js';
import { FOLD_PREFILTER_MIN, foldInput, foldPrefilter } from '../../src/sieve/match/fold-prefilter.js';
import { compileRegex, regexMatch } from '../../src/sieve/match/regex-match.js';
import type { Comparator } from '../../src/sieve/match/comparators.js';

/** How many times re2js ran an engine for the compiled `pattern` during `f`. */
function engineRuns(pattern: string, cmp: Comparator, f: () => void): number {
  const re = compileRegex(pattern, cmp);
  if (typeof re === 'string') throw new Error(re);
  const engine = re.re2() as unknown as { executeEngine: (...a: unknown[]) => unknown };
  const run = engine.executeEngine;
  let n = 0;
  engine.executeEngine = function (...a: unknown[]) {
    n++;
    return run.apply(this, a);
  };
  try {
    f();
  } finally {
    engine.executeEngine = run;
  }
  return n;
}

const body = 'The quick brown fox jumps over the lazy dog 0123456789.\r\n'.repeat(20_000);

describe('case-insensitive :regex on a long value', () => {
  it('refuses a value that lacks a needed literal without running the engine', () => {
    const ctx = { cmp: asciiCasemap, wantCaptures: false };
    expect(engineRuns('spam[0-9]+word', asciiCasemap, () => expect(regexMatch.matchOne!(body, 'spam[0-9]+word', ctx)).toBe(false))).toBe(0);
    // The case-sensitive comparator has re2js's own prefilter, inside the engine's entry point.
    expect(regexMatch.matchOne!(body, 'spam[0-9]+word', { cmp: octet, wantCaptures: false })).toBe(false);
  });

  it('still runs the engine when the literals are there, in any case', () => {
    const ctx = { cmp: unicodeCasemap, wantCaptures: true };
    const value = `${body}SPAM42Word\r\n`;
    expect(engineRuns('spam([0-9]+)word', unicodeCasemap, () => expect(regexMatch.matchOne!(value, 'spam([0-9]+)word', ctx)).toEqual(['SPAM42Word', '42']))).toBe(1);
  });

  it('keeps no prefilter for patterns whose literals it cannot fold', () => {
    expect(foldPrefilter('caf\u00e9[0-9]')).toBeNull(); // not ASCII
    expect(foldPrefilter('[a-z]+[0-9]')).toBeNull(); // no literal
    expect(foldPrefilter('ab|[0-9]')).toBeNull(); // an alternative without one
    expect(foldPrefilter('Spam(Ham|Eggs)')).toEqual({ all: ['spam', { any: ['ham', 'eggs'] }] });
  });

  it('folds every character RE2 matches with an ASCII letter to that letter', () => {
    const letter = RE2JS.compile('^[a-z]$', RE2JS.CASE_INSENSITIVE);
    const outsideAscii: string[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCharCode(c);
      if (!letter.test(ch)) continue;
      if (c > 0x7f) outsideAscii.push(ch);
      const folded = foldInput(ch);
      expect(folded, `U+${c.toString(16)}`).toMatch(/^[a-z]$/);
      expect(RE2JS.compile(`^${folded}$`, RE2JS.CASE_INSENSITIVE).test(ch), `U+${c.toString(16)}`).toBe(true);
    }
    // Long s and the Kelvin sign: the two that fold to ASCII letters.
    expect(outsideAscii).toEqual(['\u017f', '\u212a']);
  });

  it('answers as re2js alone does', () => {
    const patterns = ['spam[0-9]+', 'Kiss|mask', '(?-i:Kiss)s', 'a.c(de|fg)h', 'ssk?s', 'x(yz)+w', '(?i)sK', 'st\\.k'];
    const unit = fc.constantFrom('s', 'S', '\u017f', 'k', 'K', '\u212a', 'i', 'a', 'c', 'd', 'e', 'f', 'g', 'h', 'x', 'y', 'z', 'w', 'p', 'm', '1', '.', ' ');
    fc.assert(
      fc.property(fc.constantFrom(...patterns), fc.string({ unit, maxLength: 12 }), fc.nat(200), fc.boolean(), (pattern, snippet, at, unicode) => {
        const cmp = unicode ? unicodeCasemap : asciiCasemap;
        const filler = '-'.repeat(FOLD_PREFILTER_MIN);
        const value = filler.slice(0, at) + snippet + filler.slice(at);
        const expected = RE2JS.compile(pattern, RE2JS.LONGEST_MATCH | RE2JS.CASE_INSENSITIVE).test(value);
        expect(regexMatch.matchOne!(value, pattern, { cmp, wantCaptures: false })).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
