/**
 * Momentum's `bitwise-and` relational match (sieve-enhancements.md,
 * "relational": beside RFC 5231's gt, ge, lt, le, eq and ne), as its
 * cidrdb page uses it: `ec_test :value "bitwise-and" :comparator
 * "i;ascii-numeric" $last_octet "2"` holds when the value has a bit of the
 * key set, that is when value AND key is not zero
 * (docs/momentum-compatibility.md).
 *
 * Value and key are read as i;ascii-numeric reads them (RFC 4790 9.1: the
 * number their leading digits spell), whatever the comparator; one that
 * does not start with a digit is no number, and the match does not hold.
 */
import type { RelationalOp } from '../sieve/match/match-types.js';

function leadingNumber(s: string): bigint | null {
  let end = 0;
  while (end < s.length && s.charCodeAt(end) >= 48 && s.charCodeAt(end) <= 57) end++;
  return end === 0 ? null : BigInt(s.slice(0, end));
}

export const bitwiseAnd: RelationalOp = {
  name: 'bitwise-and',
  holds(value, key) {
    const a = leadingNumber(value);
    const b = leadingNumber(key);
    return a !== null && b !== null && (a & b) !== 0n;
  },
};
