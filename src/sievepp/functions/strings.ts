/**
 * Momentum's string functions: ec_tolower / ec_toupper, reverse,
 * ec_base64_encode / _decode, qp_encode (RFC 2045 6.7), ec_rfc2047_encode_header (RFC 2047) and ec_pcre_match
 * (through re2js, so a pattern cannot take exponential time).
 */
import { libmime } from '../../sieve/runtime/libmime.js';
import type { RE2JS } from 're2js';
import { re2js } from '../../sieve/match/re2.js';
import { argString, type SieveFunction } from '../functions.js';

const ascii = (name: string, f: (s: string) => string): SieveFunction => ({
  name,
  uses: { value: true },
  params: [{ name: 'string', type: 'string' }],
  call: (b, rt) => f(argString(b, rt, 0)!),
});

/** RFC 2045 6.7: every octet outside printable ASCII (and "=") as =XX; lines are not folded (a value, not a body). */
export function quotedPrintable(bytes: Uint8Array): string {
  let out = '';
  for (const c of bytes) out += (c >= 33 && c <= 126 && c !== 61) || c === 32 ? String.fromCharCode(c) : `=${c.toString(16).toUpperCase().padStart(2, '0')}`;
  // RFC 2045 6.7 (3): a space at the end would be lost in transport.
  return out.replace(/ $/, '=20');
}

/** Charsets qp_encode can write without a conversion library: Node's own encoders. */
const CHARSETS: Readonly<Record<string, BufferEncoding>> = { 'utf-8': 'utf8', utf8: 'utf8', 'iso-8859-1': 'latin1', latin1: 'latin1', 'us-ascii': 'ascii', ascii: 'ascii' };

const qpEncode: SieveFunction = {
  name: 'qp_encode',
  uses: { value: true },
  params: [
    { name: 'string', type: 'string' },
    { name: 'charset', type: 'string', optional: true },
  ],
  call(b, rt) {
    const charset = (b.args.length > 1 ? argString(b, rt, 1)! : 'utf-8').toLowerCase();
    const encoding = CHARSETS[charset];
    if (!encoding) return rt.fail(`qp_encode: charset '${charset}' is not supported (UTF-8, ISO-8859-1, US-ASCII)`, b.node.pos);
    return quotedPrintable(Buffer.from(argString(b, rt, 0)!, encoding));
  },
};

/** RFC 2047: the words of a header value that need it as encoded-words (UTF-8, Q encoding). */
const rfc2047: SieveFunction = {
  name: 'ec_rfc2047_encode_header',
  uses: { value: true },
  params: [{ name: 'header value', type: 'string' }],
  call: (b, rt) => libmime().encodeWords(argString(b, rt, 0)!, 'Q'),
};

/**
 * `ec_pcre_match <string> <pattern>`: the match and its groups as a list
 * (the whole match first), an empty list when it does not match
 * (sieve-ref-ec-pcre-match.md).
 */
const pcreMatch: SieveFunction = {
  name: 'ec_pcre_match',
  uses: { value: true, test: true },
  params: [
    { name: 'string', type: 'any' },
    { name: 'pattern', type: 'string' },
  ],
  call(b, rt) {
    const pattern = argString(b, rt, 1)!;
    let re: RE2JS;
    try {
      re = re2js().RE2JS.compile(pattern);
    } catch (e) {
      return rt.fail(`ec_pcre_match: invalid pattern '${pattern}': ${(e as Error).message}`, b.node.pos);
    }
    const m = re.matcher(argString(b, rt, 0)!);
    if (!m.find()) return [];
    const out: string[] = [];
    for (let i = 0; i <= m.groupCount(); i++) out.push(m.group(i) ?? '');
    return out;
  },
};

/** `ec_base64_encode <text>` / `ec_base64_decode <text>` (RFC 4648 4), over the text's UTF-8 octets. */
const base64 = (name: string, f: (s: string) => string): SieveFunction => ({
  name,
  uses: { value: true },
  params: [{ name: 'text', type: 'string' }],
  call: (b, rt) => f(argString(b, rt, 0)!),
});

export const stringFunctions: SieveFunction[] = [
  base64('ec_base64_encode', (s) => Buffer.from(s, 'utf8').toString('base64')),
  base64('ec_base64_decode', (s) => Buffer.from(s, 'base64').toString('utf8')),
  ascii('ec_tolower', (s) => s.toLowerCase()),
  ascii('ec_toupper', (s) => s.toUpperCase()),
  ascii('reverse', (s) => Array.from(s).reverse().join('')),
  qpEncode,
  rfc2047,
  pcreMatch,
];
