/** Each comparator (RFC 4790, RFC 5051) and each match type, directly and through scripts. */
import { describe, expect, it } from 'vitest';
import { asciiCasemap, asciiNumeric, octet, unicodeCasemap } from '../../src/sieve/match/comparators.js';
import { matchGlob, parseGlob } from '../../src/sieve/match/glob.js';
import { holds } from './helpers.js';

describe('comparators', () => {
  it('i;octet compares exactly and orders by octets', () => {
    expect(octet.equals('abc', 'abc')).toBe(true);
    expect(octet.equals('abc', 'ABC')).toBe(false);
    expect(octet.compare('B', 'a')).toBeLessThan(0);
    // U+FFFD sorts before U+1F600 in UTF-8 although not in UTF-16 code units.
    expect(octet.compare('\ufffd', '\u{1f600}')).toBeLessThan(0);
  });
  it('i;ascii-casemap folds ASCII letters only', () => {
    expect(asciiCasemap.equals('ABC', 'abc')).toBe(true);
    expect(asciiCasemap.equals('É', 'é')).toBe(false);
  });
  it('i;unicode-casemap folds beyond ASCII', () => {
    expect(unicodeCasemap.equals('TÈST', 'tèst')).toBe(true);
    expect(unicodeCasemap.equals('é', 'e\u0301')).toBe(true);
  });
  it('i;unicode-casemap folds every sigma alike, wherever it stands (RFC 5051: titlecase each character, without context)', () => {
    // JavaScript's toLowerCase writes a capital sigma at a word's end as the final form: "ΑΣ" -> "ας", but "ΑΣx" -> "ασx".
    const fold = unicodeCasemap.fold!;
    expect(fold('ΑΣ')).toBe(fold('ΑΣx').slice(0, -1));
    expect(fold('ΑΣx').includes(fold('ΑΣ'))).toBe(true);
    for (const s of ['ς', 'σ', 'Σ']) expect(unicodeCasemap.equals(s, 'Σ'), s).toBe(true);
    expect(unicodeCasemap.equals('ΟΔΟΣ', 'οδοσ')).toBe(true);
  });
  it('i;ascii-numeric compares leading digits, unbounded, with infinity for the rest', () => {
    expect(asciiNumeric.equals('0042', '42abc')).toBe(true);
    expect(asciiNumeric.compare('123456789012345678901234567890', '9')).toBeGreaterThan(0);
    expect(asciiNumeric.compare('x', '1')).toBeGreaterThan(0);
    expect(asciiNumeric.fold).toBeUndefined();
  });
});

describe('glob (:matches)', () => {
  const m = (value: string, pattern: string) => {
    const g = parseGlob(pattern, (s) => s);
    const chars = Array.from(value);
    return matchGlob(g, chars, chars, true);
  };
  it('captures * and ? in pattern order', () => {
    expect(m('abcde', 'a?c*')).toEqual(['b', 'de']);
    expect(m('x@y@z', '*@*')).toEqual(['x', 'y@z']);
  });
  it('anchors both ends', () => {
    expect(m('abc', 'b*')).toBeNull();
    expect(m('abc', '*b')).toBeNull();
    expect(m('', '*')).toEqual(['']);
  });
});

describe('match types through the string test', () => {
  const req = '"variables", "relational", "regex", "comparator-i;ascii-numeric"';
  it(':is, :contains, :matches default to i;ascii-casemap', async () => {
    expect(await holds(req, 'string :is "ABC" "abc"')).toBe(true);
    expect(await holds(req, 'string :contains "xABCx" "bc"')).toBe(true);
    expect(await holds(req, 'string :matches "ABC" "a*"')).toBe(true);
    expect(await holds(req, 'string :is :comparator "i;octet" "ABC" "abc"')).toBe(false);
  });
  it(':value orders with the comparator', async () => {
    expect(await holds(req, 'string :value "lt" "a" "b"')).toBe(true);
    expect(await holds(req, 'string :value "gt" :comparator "i;ascii-numeric" "10" "9"')).toBe(true);
    expect(await holds(req, 'string :value "gt" "10" "9"')).toBe(false);
  });
  it(':count ignores empty strings in the string test (RFC 5229 5)', async () => {
    expect(await holds(req, 'string :count "eq" :comparator "i;ascii-numeric" ["a", "", "b"] "2"')).toBe(true);
  });
  it(':regex is case-insensitive with i;ascii-casemap and sets match values', async () => {
    expect(await holds(req, 'allof (string :regex "Foo-Bar" "^foo-(b.r)$", string :is "${1}" "Bar")')).toBe(true);
    expect(await holds(req, 'string :regex :comparator "i;octet" "Foo" "^foo$"')).toBe(false);
  });
  it('refuses :contains with i;ascii-numeric at compile time', async () => {
    const { errorsOf } = await import('./helpers.js');
    expect(errorsOf('if header :contains :comparator "i;ascii-numeric" "x" "1" {}')).toEqual(["unknown comparator 'i;ascii-numeric'"]);
    expect(errorsOf('require "comparator-i;ascii-numeric"; if header :contains :comparator "i;ascii-numeric" "x" "1" {}')[0]).toMatch(/does not support sub-string matching/);
  });
});
