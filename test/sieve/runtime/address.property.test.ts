/**
 * Quoted strings in address lists (src/sieve/runtime/address.ts, RFC 5322
 * 3.2.4): the value is the text between the quotes with each quoted pair
 * ("\" and any character) replaced by its character; one left open, or
 * ended by a lone "\", makes the field not an address list.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddressList } from '../../../src/sieve/runtime/address.js';

/** Text of a quoted string: characters other than '"' and '\', and quoted pairs, with the value each gives. */
const segment = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 6 }).map((t) => t.replace(/["\\]/g, '')).map((t) => ({ raw: t, value: t })),
  fc.constantFrom('"', '\\', 'a', ' ', ',', '@', '<', 'é', '😀').map((c) => ({ raw: `\\${c}`, value: c })),
);
const quoted = fc.array(segment, { maxLength: 20 }).map((s) => ({ raw: s.map((x) => x.raw).join(''), value: s.map((x) => x.value).join('') }));

describe('quoted strings in an address list', () => {
  it('give their text with quoted pairs unquoted, as a local part or a display name (property)', () => {
    fc.assert(
      fc.property(quoted, (q) => {
        expect(parseAddressList(`"${q.raw}"@example.com`)).toEqual([{ local: q.value, domain: 'example.com' }]);
        expect(parseAddressList(`"${q.raw}" <joe@example.com>, "${q.raw}"@b.example`)).toEqual([
          { local: 'joe', domain: 'example.com' },
          { local: q.value, domain: 'b.example' },
        ]);
      }),
      { numRuns: 500 },
    );
  });

  it('make the field no address list when one is left open (property)', () => {
    fc.assert(
      fc.property(quoted, fc.constantFrom('', '\\'), (q, end) => {
        expect(parseAddressList(`joe@example.com, "${q.raw}${end}`)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
