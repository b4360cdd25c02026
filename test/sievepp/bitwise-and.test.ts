/**
 * Momentum's `bitwise-and` relational match (sieve-enhancements.md):
 * :value holds when value AND key is not zero, both read as the numbers
 * their leading digits spell; :count compares the count so; standard
 * Sieve (the 'rfc' dialect) has only RFC 5231's six operators.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bitwiseAnd } from '../../src/sievepp/bitwise-and.js';
import { asciiNumeric } from '../../src/sieve/match/comparators.js';
import { compileErrors, valueOf } from './helpers.js';

/** "yes" when the test holds. */
const holds = (test: string) => valueOf(`$r = "no"; if ${test} { $r = "yes"; }`, 'r');

describe('bitwise-and', () => {
  it('ec_test :value holds when a bit of the key is set in the value', async () => {
    expect(await holds('ec_test :value "bitwise-and" :comparator "i;ascii-numeric" "5" "1"')).toBe('yes');
    expect(await holds('ec_test :value "bitwise-and" :comparator "i;ascii-numeric" "5" "4"')).toBe('yes');
    expect(await holds('ec_test :value "bitwise-and" :comparator "i;ascii-numeric" "5" "2"')).toBe('no');
    expect(await holds('ec_test :value "Bitwise-And" :comparator "i;ascii-numeric" "6" "3"')).toBe('yes');
  });

  it('a value or key that does not start with a digit is no number: the match does not hold', async () => {
    expect(await holds('ec_test :value "bitwise-and" :comparator "i;ascii-numeric" "x5" "1"')).toBe('no');
    expect(await holds('ec_test :value "bitwise-and" :comparator "i;ascii-numeric" "5" ""')).toBe('no');
    // Leading digits, as i;ascii-numeric reads them (RFC 4790 9.1).
    expect(await holds('ec_test :value "bitwise-and" :comparator "i;ascii-numeric" "3 lists" "2"')).toBe('yes');
  });

  it('applies to header fields and to :count', async () => {
    expect(await holds('header :value "bitwise-and" :comparator "i;ascii-numeric" "x-priority" "1"')).toBe('no');
    expect(await holds('header :count "bitwise-and" :comparator "i;ascii-numeric" "received" "1"')).toBe('no');
    expect(await holds('header :count "bitwise-and" :comparator "i;ascii-numeric" "subject" "1"')).toBe('yes');
  });

  it('is Momentum\'s: the rfc dialect refuses it, as any name that is not an RFC 5231 operator', () => {
    expect(compileErrors('require ["relational", "comparator-i;ascii-numeric"];\nif header :value "bitwise-and" :comparator "i;ascii-numeric" "x" "1" { stop; }', { dialect: 'rfc' })).toEqual([
      "2:18: invalid relational match type 'bitwise-and' for the header test",
    ]);
    expect(compileErrors('if ec_test :value "bitwise-or" :comparator "i;ascii-numeric" "1" "1" { stop; }')).toEqual([
      "1:19: invalid relational match type 'bitwise-or' for the ec_test function",
    ]);
  });

  it('agrees with the AND of the numbers, of any size (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 80n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 80n) - 1n }), fc.string({ unit: fc.constantFrom(' ', 'a', '.'), maxLength: 3 }), (a, b, tail) => {
        expect(bitwiseAnd.holds(`${a}${tail}`, String(b), asciiNumeric)).toBe((a & b) !== 0n);
      }),
    );
  });
});
