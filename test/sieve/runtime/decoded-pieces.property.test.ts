/**
 * A part's text decoded as its raw body is read in pieces (decoded-pieces.ts)
 * is decodedBody's, for any split: base64 (line breaks, characters outside
 * the alphabets, padding and what follows it, a group cut between pieces),
 * quoted-printable (soft line breaks and escapes cut between pieces, `=`
 * before a soft line break), any charset (multi-octet characters cut,
 * byte order marks, an unknown charset read as UTF-8), and none for an
 * unknown transfer encoding.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodedPieces } from '../../../src/sieve/runtime/decoded-pieces.js';
import { decodedBody } from '../../../src/sieve/runtime/mime-decode.js';
import { textPart } from './text-part.js';

const part = textPart;

/** The value cut into pieces, never inside a surrogate pair: the raw body's pieces are whole characters (body-text.ts). */
async function* piecesOf(value: string, cuts: number[]): AsyncGenerator<string> {
  const between = (i: number) => (i > 0 && i < value.length && /[\ud800-\udbff]/.test(value[i - 1]!) && /[\udc00-\udfff]/.test(value[i]!) ? i + 1 : i);
  let from = 0;
  for (const cut of [...new Set(cuts.map((c) => between(c % (value.length + 1))))].sort((a, b) => a - b)) {
    yield value.slice(from, cut);
    from = cut;
  }
  yield value.slice(from);
}

async function joined(pieces: AsyncIterable<string>): Promise<string> {
  let all = '';
  for await (const p of pieces) all += p;
  return all;
}

/** Text that is mostly some encoding of something, with the characters that make its edges. */
const base64Text = fc.oneof(
  fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('base64').replace(/.{1,7}/g, '$&\r\n')),
  fc.string({ unit: fc.constantFrom('Q', 'U', 'J', 'D', 'z', '4', '+', '/', '-', '_', '=', '\r\n', ' ', '!', '.', 'é'), maxLength: 40 }),
);
const qpText = fc.string({ unit: fc.oneof(fc.constantFrom('=', '\r\n', '=\r\n', '==\r\n', '=\r', 'A', 'f', '0', '9', 'G', ' ', 'é', '€', '😀'), fc.constantFrom('=41', '=c3=a9', '=E2=82=AC', '=ef=bb=bf', '=ZZ', '==', '=4')), maxLength: 40 });
const plainText = fc.string({ unit: fc.oneof(fc.constantFrom('\ufeff', 'é', '😀', '\r\n', 'ü'), fc.string({ maxLength: 1 })), maxLength: 30 });
const charset = fc.constantFrom(undefined, 'utf-8', 'UTF-8', 'us-ascii', 'iso-8859-1', 'windows-1252', 'utf-16le', 'shift_jis', 'x-no-such-charset');

describe('a part decoded in pieces', () => {
  it('is decodedBody, for any split', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.tuple(fc.constant('base64'), base64Text), fc.tuple(fc.constant('quoted-printable'), qpText), fc.tuple(fc.constantFrom(undefined, '7bit', '8bit', 'binary'), plainText)),
        charset,
        fc.array(fc.nat(), { maxLength: 10 }),
        async ([cte, body], cs, cuts) => {
          const p = part(body, cte, cs);
          const pieces = decodedPieces(p, piecesOf(body, cuts));
          expect(pieces).not.toBeNull();
          expect(await joined(pieces!)).toBe(decodedBody(p));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('quoted-printable: an escape that a removed soft line break opens, completed by the next piece', async () => {
    // "x==\r\n" loses its soft line break and ends with "=", which "41" then completes: "x=41" is "xA".
    const p = part('x==\r\n41', 'quoted-printable');
    expect(decodedBody(p)).toBe('xA');
    expect(await joined(decodedPieces(p, piecesOf('x==\r\n41', [5]))!)).toBe('xA');
    expect(await joined(decodedPieces(p, piecesOf('x==\r\n41', [6]))!)).toBe('xA');
  });

  it('is none for an unknown transfer encoding, as decodedBody is', () => {
    const p = part('abc', 'x-uuencode');
    expect(decodedBody(p)).toBeNull();
    expect(decodedPieces(p, piecesOf('abc', []))).toBeNull();
  });
});
