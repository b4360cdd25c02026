/**
 * A MIME part's decoded text (what decodedBody gives: transfer encoding
 * and charset undone, RFC 2045 6) from its raw body read in pieces
 * (MimePart.bodyPieces), so a large part is decoded as it is read and
 * never held whole. Each stage carries what a piece's end leaves open:
 *   - base64: the characters of an unfinished group of four. As
 *     Buffer.from(text, 'base64') reads it, characters outside the
 *     alphabets (line breaks) are skipped and the first `=` ends the data;
 *   - quoted-printable: a `=` or `=\r` that may start a soft line break,
 *     then a `=` or `=X` that may start an escape (decodeQuotedPrintable
 *     removes the soft line breaks first, then decodes);
 *   - the charset: its decoder (charset.ts) keeps a character cut
 *     between two pieces.
 * The pieces' text equals decodedBody's, byte order mark rules included
 * (TextDecoder drops one; an unknown charset is read as UTF-8 by
 * Buffer.toString, which keeps it).
 */
import { StringDecoder } from 'node:string_decoder';
import { type CharsetDecoder, charsetDecoder } from './charset.js';
import { identityEncoding, quotedPrintableOctets, SOFT_BREAK, transferEncoding } from './mime-decode.js';
import { type MimePart } from './mime.js';

/** The part's decoded text in pieces, from its raw body's; null when the transfer encoding is unknown (decodedBody's null). */
export function decodedPieces(part: MimePart, raw: AsyncIterable<string>): AsyncIterable<string> | null {
  const cte = transferEncoding(part);
  const octets = identityEncoding(cte) ? utf8Octets(raw) : cte === 'base64' ? base64Octets(raw) : cte === 'quoted-printable' ? quotedPrintable(raw) : null;
  if (!octets) return null;
  const charset = (part.params.charset ?? 'utf-8').toLowerCase();
  return decodeCharset(octets, charset === 'us-ascii' ? 'utf-8' : charset);
}

async function* utf8Octets(raw: AsyncIterable<string>): AsyncGenerator<Buffer> {
  for await (const piece of raw) yield Buffer.from(piece);
}

/** Characters Buffer.from(_, 'base64') decodes (both alphabets, RFC 4648 4 and 5); the rest it skips, and it stops at `=`. */
const NOT_BASE64 = /[^A-Za-z0-9+/_-]+/g;

async function* base64Octets(raw: AsyncIterable<string>): AsyncGenerator<Buffer> {
  let carry = '';
  for await (const piece of raw) {
    const pad = piece.indexOf('=');
    const text = carry + (pad < 0 ? piece : piece.slice(0, pad)).replace(NOT_BASE64, '');
    if (pad >= 0) {
      yield Buffer.from(text, 'base64');
      return;
    }
    const whole = text.length - (text.length % 4);
    carry = text.slice(whole);
    if (whole > 0) yield Buffer.from(text.slice(0, whole), 'base64');
  }
  if (carry) yield Buffer.from(carry, 'base64');
}

async function* quotedPrintable(raw: AsyncIterable<string>): AsyncGenerator<Buffer> {
  // Stage one's carry: a `=` or `=\r` at a piece's end may be the start of a soft line break.
  let softCarry = '';
  // Stage two's: a `=` or `=X` (X a hex digit) at the end of what stage one gave may be the start of an escape.
  let escapeCarry = '';
  const escapes = (text: string, last: boolean): Buffer => {
    const all = escapeCarry + text;
    const hold = last ? 0 : openEscape(all);
    escapeCarry = all.slice(all.length - hold);
    return quotedPrintableOctets(all.slice(0, all.length - hold));
  };
  for await (const piece of raw) {
    const all = softCarry + piece;
    const hold = all.endsWith('=\r') ? 2 : all.endsWith('=') ? 1 : 0;
    softCarry = all.slice(all.length - hold);
    yield escapes(all.slice(0, all.length - hold).replace(SOFT_BREAK, ''), false);
  }
  yield escapes(softCarry, true);
}

/** How many characters at the end of `text` may begin an escape that the next piece completes: `=` or `=X`. */
function openEscape(text: string): number {
  const n = text.length;
  if (n >= 1 && text.charCodeAt(n - 1) === 0x3d) return 1;
  if (n >= 2 && text.charCodeAt(n - 2) === 0x3d && /[0-9A-Fa-f]/.test(text[n - 1]!)) return 2;
  return 0;
}

async function* decodeCharset(octets: AsyncIterable<Buffer>, charset: string): AsyncGenerator<string> {
  let decoder: CharsetDecoder | undefined;
  try {
    // As decodedBody reads the whole part (charset.ts: the same text whole or in pieces).
    decoder = charsetDecoder(charset);
  } catch {
    // An unknown charset: decodedBody reads the octets as UTF-8 (Buffer.toString, which keeps a byte order mark).
  }
  const utf8 = decoder ? undefined : new StringDecoder('utf8');
  for await (const chunk of octets) {
    const text = decoder ? decoder.decode(chunk, true) : utf8!.write(chunk);
    if (text !== '') yield text;
  }
  const rest = decoder ? decoder.decode(EMPTY, false) : utf8!.end();
  if (rest !== '') yield rest;
}

const EMPTY = new Uint8Array(0);
