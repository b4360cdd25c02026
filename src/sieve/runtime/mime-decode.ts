/**
 * The decoded body of a MIME part: the transfer encoding (RFC 2045 6)
 * undone, quoted-printable (RFC 2045 6.7) included, and the charset, for
 * the body test (RFC 5173) and extracttext (RFC 5703 7).
 */
import { charsetDecoder } from './charset.js';
import { header, type MimePart } from './mime.js';

/**
 * RFC 2045 6.7: soft line breaks go, `=XX` becomes its octet, anything else
 * stays as its UTF-8 (a lone surrogate as U+FFFD, as Buffer.from writes
 * it). One pass into one buffer, nothing allocated per character: a large
 * part decodes in linear time with a small constant.
 */
export function decodeQuotedPrintable(s: string): Buffer {
  return quotedPrintableOctets(s.replace(SOFT_BREAK, ''));
}

/** RFC 2045 6.7's soft line break. */
export const SOFT_BREAK = /=\r\n/g;

/** decodeQuotedPrintable of a text whose soft line breaks are gone: `=XX` to its octet, the rest as UTF-8. */
export function quotedPrintableOctets(text: string): Buffer {
  const out = Buffer.allocUnsafe(/[^\x00-\x7f]/.test(text) ? text.length * 3 : text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3d) {
      const hi = hexValue(text.charCodeAt(i + 1));
      const lo = hi < 0 ? -1 : hexValue(text.charCodeAt(i + 2));
      if (lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    if (c < 0x80) out[n++] = c;
    else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out[n++] = 0xef;
      out[n++] = 0xbf;
      out[n++] = 0xbd;
    } else {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
    }
  }
  return out.subarray(0, n);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

const IDENTITY = new Set(['', '7bit', '8bit', 'binary']);

/** The part's Content-Transfer-Encoding in lower case; '' when it has none (RFC 2045 6.1: 7bit). */
export function transferEncoding(part: MimePart): string {
  return (header(part.headers, 'content-transfer-encoding') ?? '').toLowerCase();
}

/** Whether a transfer encoding leaves the octets as they are (RFC 2045 6.2). */
export const identityEncoding = (cte: string): boolean => IDENTITY.has(cte);

/** The body's octets with the transfer encoding (RFC 2045 6) undone; null when the encoding is unknown. */
export function decodedBytes(part: MimePart): Buffer | null {
  const cte = transferEncoding(part);
  if (!IDENTITY.has(cte) && cte !== 'base64' && cte !== 'quoted-printable') return null;
  return cte === 'base64' ? Buffer.from(part.body, 'base64') : cte === 'quoted-printable' ? decodeQuotedPrintable(part.body) : Buffer.from(part.body);
}

/**
 * Whether the part's text is its body as it is, but a leading byte order
 * mark: no transfer encoding (RFC 2045 6.2) and a UTF-8 or US-ASCII
 * charset, so decodedBody decodes nothing.
 */
export function textAsItIs(part: MimePart): boolean {
  const cte = transferEncoding(part);
  const charset = (part.params.charset ?? 'utf-8').toLowerCase();
  return IDENTITY.has(cte) && (charset === 'utf-8' || charset === 'us-ascii');
}

/**
 * The body as text: transfer encoding (RFC 2045 6) and charset undone;
 * null when the encoding is unknown. The budget is charged for the body's
 * length (the passes over it are the run's work).
 */
export function decodedBody(part: MimePart, budget?: { charge(units: number): void }): string | null {
  const charset = (part.params.charset ?? 'utf-8').toLowerCase();
  if (textAsItIs(part)) {
    // The body is already the UTF-8 reading of its octets: encoding and
    // decoding it again (two more passes over a part that may be megabytes,
    // with every other session waiting) gives the same text, but for a
    // leading byte order mark, which TextDecoder drops, and lone
    // surrogates, which it replaces (a body from a JavaScript string).
    const body = part.body;
    budget?.charge(body.length);
    if ((body as unknown as { isWellFormed(): boolean }).isWellFormed()) return body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  }
  const bytes = decodedBytes(part);
  if (bytes === null) return null;
  budget?.charge(bytes.length);
  try {
    return charsetDecoder(charset === 'us-ascii' ? 'utf-8' : charset).decode(bytes, false);
  } catch {
    return bytes.toString('utf8');
  }
}
