/**
 * Percent-encoding (RFC 3986 2.1): every UTF-8 octet of a character that
 * is not unreserved (2.3: ALPHA, DIGIT, "-", ".", "_", "~") becomes "%HH"
 * with upper-case hex digits. RFC 5435 6 defines the `:encodeurl` variable
 * modifier as exactly this, so that a value can be put into a URI; the
 * mailto URI parser (mailto-uri.ts) decodes it again.
 */

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const HEX = '0123456789ABCDEF';

export function percentEncode(text: string): string {
  let out = '';
  for (const ch of text) {
    if (UNRESERVED.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/**
 * The longest prefix of an encoded value cut to fit (as a variable's size
 * limit cuts it) that does not end inside an escape or inside the escapes of
 * one character: a cut value still decodes, to a prefix of the original.
 */
export function trimEncoded(fitted: string): string {
  let s = fitted.replace(/%[0-9A-Fa-f]?$/, '');
  // Escapes at the end that start a UTF-8 character but do not finish it.
  const tail = /(?:%[0-9A-Fa-f]{2})+$/.exec(s)?.[0] ?? '';
  const bytes = tail.match(/%[0-9A-Fa-f]{2}/g)?.map((e) => parseInt(e.slice(1), 16)) ?? [];
  let i = bytes.length - 1;
  while (i >= 0 && (bytes[i]! & 0xc0) === 0x80) i--;
  if (i >= 0) {
    const lead = bytes[i]!;
    const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (bytes.length - i < need) s = s.slice(0, s.length - (bytes.length - i) * 3);
  }
  return s;
}

/**
 * Decodes "%HH" escapes (RFC 3986 2.1) and reads the octets as UTF-8;
 * null when an escape is malformed or the octets are not UTF-8.
 */
export function percentDecode(text: string): string | null {
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 0x25) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else {
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      bytes.push(...Buffer.from(ch, 'utf8'));
      i += ch.length;
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}
