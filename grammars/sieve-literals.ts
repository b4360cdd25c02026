/**
 * Turning the text of Sieve literals into values (RFC 5228 section 2.4).
 */

/**
 * quoted-string: `\"` and `\\` escape, and any other `\x` means `x`
 * (RFC 5228 2.4.2). Line breaks inside become CRLF, as in Pigeonhole: a
 * script saved with bare LF means the same as one saved with CRLF.
 */
export function decodeQuoted(text: string, start: number, stop: number): string {
  // The quotes are at start and stop - 1: the body is cut straight from the text, not from a copy of the token.
  const body = text.slice(start + 1, stop - 1);
  const unescaped = body.indexOf('\\') < 0 ? body : body.replace(/\\([\s\S])/g, '$1');
  return unescaped.indexOf('\n') < 0 ? unescaped : unescaped.replace(/\r?\n/g, '\r\n');
}

/**
 * multi-line: drop the `text:` line and the terminating "." line; a line
 * starting with ".." loses its first dot (dot-stuffing, RFC 5228 2.4.2).
 * Every line keeps a CRLF ending.
 */
export function decodeMultiLine(text: string, start: number, stop: number): string {
  const firstBreak = text.indexOf('\n', start);
  const body = text.slice(firstBreak + 1, stop).replace(/\.(?:\r?\n)?$/, '');
  if (body === '') return '';
  const lines = body.replace(/\r?\n$/, '').split(/\r?\n/);
  return lines.map((l) => (l.startsWith('..') ? l.slice(1) : l)).join('\r\n') + '\r\n';
}

/** The largest number Sieve allows: Pigeonhole's 64-bit unsigned limit. */
export const SIEVE_MAX_NUMBER = (1n << 64n) - 1n;

const QUANTIFIER: Record<string, bigint> = { k: 1n << 10n, m: 1n << 20n, g: 1n << 30n };

/**
 * number = 1*DIGIT [ "K" / "M" / "G" ] (RFC 5228 2.4.1). `value` loses
 * precision past 2^53, which only matters for numbers no mail ever reaches.
 */
export function decodeNumber(image: string): { value: number; overflow: boolean } {
  const last = image[image.length - 1]!.toLowerCase();
  const factor = QUANTIFIER[last];
  const digits = factor ? image.slice(0, -1) : image;
  if (digits.length <= 15) {
    // Exact in a double: up to 15 digits times a power of two, so no BigInt is needed.
    const value = Number(digits) * Number(factor ?? 1n);
    return { value, overflow: value >= 2 ** 64 };
  }
  const big = BigInt(digits) * (factor ?? 1n);
  return { value: Number(big), overflow: big > SIEVE_MAX_NUMBER };
}
