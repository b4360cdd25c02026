/**
 * Decoding a part's body (RFC 2045 6): the one-pass quoted-printable
 * decoder gives the octets the straightforward reading gives, and a body
 * with no transfer encoding in UTF-8 is the text that encoding it and
 * decoding it again would give, byte order mark and lone surrogates
 * included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodedBody, decodeQuotedPrintable } from '../../../src/sieve/runtime/mime-decode.js';
import { textPart } from './text-part.js';

/** The reading RFC 2045 6.7 describes, a character at a time: soft line breaks removed first, then `=XX` to its octet. */
function referenceQp(s: string): Buffer {
  const bytes: number[] = [];
  const text = s.replace(/=\r\n/g, '');
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(c));
  }
  return Buffer.from(bytes);
}

const part = textPart;

const qpText = fc.string({ unit: fc.oneof(fc.constantFrom('=', '\r\n', '=\r\n', 'A', 'f', '0', '9', 'G', ' ', 'é', '€', '\ud83d', '\ude00', '😀'), fc.constantFrom('=41', '=c3=a9', '=ZZ', '==')), maxLength: 40 });
const anyText = fc.string({ unit: fc.oneof(fc.constantFrom('\ufeff', '\ud800', '\udfff', 'é', '😀', '\r\n'), fc.string({ unit: 'binary', maxLength: 1 })), maxLength: 30 });

describe('decoding a part body', () => {
  it('quoted-printable: the same octets as the character-at-a-time reading', () => {
    fc.assert(
      fc.property(qpText, (s) => {
        expect(decodeQuotedPrintable(s).equals(referenceQp(s))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('no transfer encoding, UTF-8 or US-ASCII: the text that encoding and decoding again gives', () => {
    fc.assert(
      fc.property(anyText, fc.constantFrom(undefined, '7bit', '8BIT', 'binary'), fc.constantFrom(undefined, 'utf-8', 'UTF-8', 'us-ascii'), (s, cte, charset) => {
        expect(decodedBody(part(s, cte, charset))).toBe(new TextDecoder('utf-8').decode(Buffer.from(s)));
      }),
      { numRuns: 2000 },
    );
  });

  it('charges the budget for the body it decodes', () => {
    let charged = 0;
    decodedBody(part('x'.repeat(5000), undefined), { charge: (n) => void (charged += n) });
    expect(charged).toBeGreaterThanOrEqual(5000);
  });
});
