/**
 * ec_rfc2047_encode_addresses (src/sievepp/functions/rfc2047-addresses.ts):
 * display names that are not ASCII become RFC 2047 encoded-words, the
 * others stay or are quoted, the addresses are kept; and what it writes
 * reads back, through the same parser and libmime's decoder, as the names
 * and addresses it was given.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import type addressparser from 'nodemailer/lib/addressparser';
import { describe, expect, it } from 'vitest';
import { libmime } from '../../src/sieve/runtime/libmime.js';
import { encodedAddresses } from '../../src/sievepp/functions/rfc2047-addresses.js';
import { compileErrors, valueOf } from './helpers.js';

const parse = createRequire(import.meta.url)('nodemailer/lib/addressparser') as typeof addressparser;

describe('ec_rfc2047_encode_addresses', () => {
  it.each([
    ['"Zoë Ångström" <zoe@example.com>, bob@example.org', '=?UTF-8?Q?Zo=C3=AB_=C3=85ngstr=C3=B6m?= <zoe@example.com>, bob@example.org'],
    ['Plain Name <p@example.com>', 'Plain Name <p@example.com>'],
    ['"Smith, John" <js@example.com>', '"Smith, John" <js@example.com>'],
    ['friends: Jörg <j@example.de>, a@b.example;', 'friends: =?UTF-8?Q?J=C3=B6rg?= <j@example.de>, a@b.example;'],
    // An ASCII special beside the name's other characters goes into the encoded-word too: left out, "(" would open a comment (RFC 5322 3.2.2).
    ['"( ¡" <a@example.com>', '=?UTF-8?Q?=28_=C2=A1?= <a@example.com>'],
    ['"Jörg (Sales), <x>" <j@example.de>', '=?UTF-8?Q?J=C3=B6rg_=28Sales=29=2C_=3Cx=3E?= <j@example.de>'],
    ['not an address list', 'not an address list'],
    ['', ''],
  ])('%s', (given, expected) => {
    expect(encodedAddresses(given)).toBe(expected);
  });

  it('writes what reads back as the names and addresses given', () => {
    // Names as a header shows them: no control characters, quotes or backslashes, spaces single and inside (white space is folded when read).
    const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => !/[\u0000-\u001f\u007f-\u009f"\\]|(?! )\s|  /.test(s) && s.trim() === s && s !== '');
    fc.assert(
      fc.property(fc.array(fc.tuple(name, fc.constantFrom('a@example.com', 'b.c@example.org', 'x+y@sub.example.net')), { minLength: 1, maxLength: 4 }), (entries) => {
        const given = entries.map(([n, a]) => `"${n}" <${a}>`).join(', ');
        const back = parse(encodedAddresses(given)).map((a) => ({ name: libmime().decodeWords(a.name), address: a.address }));
        expect(back).toEqual(entries.map(([n, a]) => ({ name: n, address: a })));
      }),
    );
  });

  it('runs at data and later, as Momentum lists it; a compile error before', async () => {
    expect(await valueOf('$e = ec_rfc2047_encode_addresses "Zoë <z@example.com>";', 'e', { phase: 'data', compile: { phase: 'data' } })).toBe('=?UTF-8?Q?Zo=C3=AB?= <z@example.com>');
    expect(compileErrors('$e = ec_rfc2047_encode_addresses "a@b.example";', { phase: 'rcptto' })).toEqual(['1:6: ec_rfc2047_encode_addresses is not allowed in the rcptto phase (only in data, each_rcpt, spool)']);
  });
});
