/**
 * :regex match values come from one re2js pass with every group
 * (RE2.matchWithGroup) rather than re2js's Matcher, which makes two passes
 * (the match's bounds, then its groups). Property: both give the same
 * match values for the same pattern and value, in both case modes.
 */
import fc from 'fast-check';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { asciiCasemap, octet } from '../../src/sieve/match/comparators.js';
import { regexMatch } from '../../src/sieve/match/regex-match.js';

const PATTERNS = [
  '(a|ab)(c|bcd)(d*)',
  '(a*)(b*)(a*)',
  '^(re|fwd?): (.*)$',
  'from [^ ]+ \\(\\[([0-9.]+)\\]\\)',
  '(x)?(y+)|(z)',
  '([ab]+)@([a-c.]+)',
  '(.*)(a+)(.*)',
  '((a)|b)+',
];

function viaMatcher(pattern: string, value: string, caseless: boolean): string[] | false {
  const re = RE2JS.compile(pattern, RE2JS.LONGEST_MATCH | (caseless ? RE2JS.CASE_INSENSITIVE : 0));
  const m = re.matcher(value);
  if (!m.find()) return false;
  const out: string[] = [];
  for (let i = 0; i <= m.groupCount(); i++) out.push(m.group(i) ?? '');
  return out;
}

describe(':regex match values', () => {
  it('are the ones re2js Matcher finds', () => {
    const value = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd', 'x', 'y', 'z', 'A', 'B', ' ', '@', '.', 'r', 'e', ':', '(', '[', '1', '0', ')', ']', 'f', 'o', 'm'), maxLength: 24 });
    fc.assert(
      fc.property(fc.constantFrom(...PATTERNS), value, fc.boolean(), (pattern, v, caseless) => {
        const cmp = caseless ? asciiCasemap : octet;
        const got = regexMatch.matchOne!(v, pattern, { cmp, wantCaptures: true });
        expect(got).toEqual(viaMatcher(pattern, v, caseless));
      }),
      { numRuns: 2000 },
    );
  });

  it('answers without match values the same way', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PATTERNS), fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd', 'x', 'y', 'z'), maxLength: 16 }), (pattern, v) => {
        expect(regexMatch.matchOne!(v, pattern, { cmp: octet, wantCaptures: false })).toBe(viaMatcher(pattern, v, false) !== false);
      }),
    );
  });
});
