/**
 * Momentum's string functions: ec_tolower / ec_toupper, reverse, reverse_delim,
 * ec_base64_encode / _decode, qp_encode (RFC 2045 6.7), ec_rfc2047_encode_header (RFC 2047) and ec_pcre_match
 * (through re2js, so a pattern cannot take exponential time).
 */
import { codecInWorker, encodesInWorker } from '../../sieve/runtime/header-codec.js';
import { encodedHeaderValue } from '../../sieve/runtime/rfc2047.js';
import { octet } from '../../sieve/match/comparators.js';
import { type MatchOutcome, runMatch } from '../../sieve/match/match-types.js';
import { perlRegexMatch } from '../../sieve/match/regex-match.js';
import { argString, head, keptChars, type SieveFunction, tail } from '../functions.js';

/**
 * A function of one string whose value is only ever assigned, and so cut
 * to the variable size limit (values.ts): `f` is given what that value
 * can come from, `part(s, kept)`, not a 10 MB match value whole (docs/
 * sieve-interpreter.md, "CPU budget and time slices").
 */
const ascii = (name: string, part: (s: string, kept: number) => string, f: (s: string) => string): SieveFunction => ({
  name,
  uses: { value: true },
  params: [{ name: 'string', type: 'string' }],
  call: (b, rt) => f(part(argString(b, rt, 0)!, keptChars(rt))),
});

/**
 * Case mapping never makes a string less than half as long (a special
 * casing gives two or three units for one), and maps a character by its
 * neighbours at most (a final sigma): the first `kept` characters come
 * from the first 2 x kept and a margin.
 */
const caseHead = (s: string, kept: number) => head(s, 2 * kept + 64);

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
    // Every character gives one character or more: the kept value comes from the first ones.
    return quotedPrintable(Buffer.from(head(argString(b, rt, 0)!, keptChars(rt) + 1), encoding));
  },
};

/**
 * RFC 2047: the words of a header value that need it as encoded-words
 * (UTF-8, Q encoding). libmime encodes the span from the first to the last
 * character that needs it, so the kept start of the value cannot be made
 * from the start of the argument; a large one is encoded in a worker
 * thread instead, which sends back what a variable keeps
 * (runtime/header-codec.ts).
 */
const rfc2047: SieveFunction = {
  name: 'ec_rfc2047_encode_header',
  uses: { value: true },
  params: [{ name: 'header value', type: 'string' }],
  call: (b, rt) => {
    const value = argString(b, rt, 0)!;
    return encodesInWorker(value, rt.budget) ? codecInWorker({ op: 'rfc2047-encode', value, keep: keptChars(rt) }, rt.budget) : encodedHeaderValue(value);
  },
};

/**
 * `ec_pcre_match <string> <pattern>`: the match and its groups as a list
 * (the whole match first), an empty list when it does not match
 * (sieve-ref-ec-pcre-match.md). Matched as :regex matches (runMatch): its
 * steps are charged to the run's budget, and in a time-sliced run a large
 * value is matched in a worker thread (docs/sieve-interpreter.md, "CPU
 * budget and time slices").
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
    const invalid = perlRegexMatch.checkKey!(pattern, octet);
    if (invalid) return rt.fail(`ec_pcre_match: ${invalid}`, b.node.pos);
    const out = runMatch(perlRegexMatch, [argString(b, rt, 0)!], [pattern], { cmp: octet, wantCaptures: true, budget: rt.budget });
    const groups = (o: MatchOutcome): string[] => (o.matched ? (o.captures ?? []) : []);
    return out instanceof Promise ? out.then(groups) : groups(out);
  },
};

/**
 * `ec_base64_decode <text>`: the decoded octets as UTF-8. Base64 is decoded
 * left to right, so the octets of a prefix of the text are a prefix of the
 * text's octets, and their UTF-8 reading differs from the whole one only in
 * its last character (a sequence cut short): when that reading is longer
 * than what is kept, it is the answer; else the whole text is decoded.
 */
function base64Decode(s: string, kept: number): string {
  const from = (t: string) => Buffer.from(t, 'base64').toString('utf8');
  if (s.length > 4 * (kept + 8)) {
    const part = from(s.slice(0, 4 * (kept + 8)));
    if (part.length > kept + 2) return part.slice(0, kept + 1);
  }
  return from(s);
}

/**
 * `reverse_delim <delimiter> <string>` (sieve-ref-reverse-delim.md): the
 * string split at the delimiter, the pieces in reverse order, joined by it
 * again ("1.2.0.192" from "192.0.2.1" and ".", as a DNS list's query name
 * is made). An empty delimiter splits nothing: the string comes back whole.
 */
const reverseDelim: SieveFunction = {
  name: 'reverse_delim',
  uses: { value: true },
  params: [
    { name: 'delimiter', type: 'string' },
    { name: 'string', type: 'string' },
  ],
  call: (b, rt) => reversedPieces(argString(b, rt, 0)!, argString(b, rt, 1)!, keptChars(rt)),
};

/**
 * The pieces of `s` between `d`s, last first, joined by `d`: at least the
 * first `kept` characters of that. Of a long string only the pieces a
 * variable keeps are read, from its end; that finds the pieces a split
 * from the start finds unless `d` can overlap itself ("aa" in "aaa"),
 * which is split whole.
 */
function reversedPieces(d: string, s: string, kept: number): string {
  if (d === '') return s;
  if (s.length <= 2 * kept || overlapsItself(d)) return s.split(d).reverse().join(d);
  const pieces: string[] = [];
  let end = s.length;
  let length = 0;
  while (length <= kept + d.length) {
    const at = end >= d.length ? s.lastIndexOf(d, end - d.length) : -1;
    const start = at < 0 ? 0 : at + d.length;
    pieces.push(s.slice(start, end));
    length += end - start + d.length;
    if (at < 0) break;
    end = at;
  }
  return pieces.join(d);
}

/** Whether two occurrences of `d` can overlap: a proper prefix of it is also its suffix. */
function overlapsItself(d: string): boolean {
  for (let k = 1; k < d.length; k++) if (d.startsWith(d.slice(d.length - k))) return true;
  return false;
}

/** `ec_base64_encode <text>` / `ec_base64_decode <text>` (RFC 4648 4), over the text's UTF-8 octets. */
export const stringFunctions: SieveFunction[] = [
  // Three octets or more (one character or more) give four characters: the first kept + 3 characters are enough.
  ascii('ec_base64_encode', (s, kept) => head(s, kept + 3), (s) => Buffer.from(s, 'utf8').toString('base64')),
  {
    name: 'ec_base64_decode',
    uses: { value: true },
    params: [{ name: 'text', type: 'string' }],
    call: (b, rt) => base64Decode(argString(b, rt, 0)!, keptChars(rt)),
  },
  ascii('ec_tolower', caseHead, (s) => s.toLowerCase()),
  ascii('ec_toupper', caseHead, (s) => s.toUpperCase()),
  // The kept start of the reversed string is the end of the string.
  ascii('reverse', (s, kept) => tail(s, kept + 1), (s) => Array.from(s).reverse().join('')),
  reverseDelim,
  qpEncode,
  rfc2047,
  pcreMatch,
];
