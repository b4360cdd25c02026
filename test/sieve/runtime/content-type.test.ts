/**
 * Content-Type parameters (RFC 2045 5.1, RFC 2231) are read by libmime's
 * header value parser. On well-formed values it reads what the hand-written
 * reader it replaced read (kept below as the oracle); where that reader was
 * wrong (a `;` inside quotes, a parameter given twice) libmime is right.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseContentType } from '../../../src/sieve/runtime/mime.js';

/** The reader before libmime, as it was. */
function handWritten(value: string | undefined, fallback: string): { type: string; params: Record<string, string> } {
  if (!value) return { type: fallback, params: {} };
  const [head, ...rest] = value.split(';');
  const type = head!.trim().toLowerCase();
  const params: Record<string, string> = {};
  // RFC 2231: name*N continuations and name*(N)*= percent-encoded values with charset'lang'.
  const pieces = new Map<string, Array<{ n: number; v: string; enc: boolean }>>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    const key = p.slice(0, eq).trim().toLowerCase();
    const m = /^([^*]+)(?:\*([0-9]+))?(\*)?$/.exec(key);
    if (!m) continue;
    const list = pieces.get(m[1]!) ?? [];
    list.push({ n: Number(m[2] ?? 0), v, enc: m[3] !== undefined });
    pieces.set(m[1]!, list);
  }
  for (const [name, list] of pieces) {
    list.sort((a, b) => a.n - b.n);
    let charset = 'utf-8';
    params[name] = list
      .map((x, i) => {
        if (!x.enc) return x.v;
        let v = x.v;
        if (i === 0) {
          const q = /^([^']*)'[^']*'(.*)$/.exec(v);
          if (q) {
            charset = q[1] || charset;
            v = q[2]!;
          }
        }
        try {
          return new TextDecoder(charset === 'us-ascii' ? 'utf-8' : charset).decode(Buffer.from(v.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1'));
        } catch {
          return v;
        }
      })
      .join('');
  }
  // A malformed type is kept as written: it matches no :content or :text selection.
  return { type, params };
}

const token = fc.string({ unit: fc.constantFrom(...'abcXYZ019-+.'.split('')), minLength: 1, maxLength: 8 });
const quotable = fc.string({ unit: fc.constantFrom(...'ab Z9-=/:,.'.split('')), maxLength: 12 });
// Octets where ISO 8859-1 and windows-1252 agree (libmime, as WHATWG's encoding standard, reads the label as the latter).
const octets = fc.array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff })), { minLength: 1, maxLength: 6 }).map((a) => Array.from(a, (b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join(''));
/** One parameter: plain, quoted, RFC 2231 encoded (latin1, whose every octet decodes) or continued in 2 or 3 pieces. */
const param = fc.oneof(
  fc.tuple(token, token).map(([n, v]) => ({ name: n, text: `${n}=${v}` })),
  fc.tuple(token, quotable).map(([n, v]) => ({ name: n, text: `${n}="${v}"` })),
  fc.tuple(token, octets).map(([n, v]) => ({ name: n, text: `${n}*=iso-8859-1'en'${v}` })),
  fc.tuple(token, fc.array(token, { minLength: 2, maxLength: 3 })).map(([n, vs]) => ({ name: n, text: vs.map((v, i) => `${n}*${i}=${v}`).join('; ') })),
);
const value = fc
  .tuple(token, token, fc.uniqueArray(param, { selector: (p) => p.name.toLowerCase(), maxLength: 4 }), fc.constantFrom(';', '; ', ' ;\t'))
  .map(([t, s, ps, sep]) => [`${t}/${s}`, ...ps.map((p) => p.text)].join(sep));

describe('Content-Type parameters', () => {
  it('read as the hand-written reader read them, on well-formed values', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(parseContentType(v, 'text/plain')).toEqual(handWritten(v, 'text/plain'));
      }),
      { numRuns: 500 },
    );
  });

  it('keep a semicolon inside a quoted string, and the first of a parameter given twice', () => {
    expect(parseContentType('multipart/mixed; boundary="a;b"; charset=x', '').params).toEqual({ boundary: 'a;b', charset: 'x' });
    expect(parseContentType('text/plain; charset=a; CHARSET=b', '').params).toEqual({ charset: 'a' });
    expect(parseContentType("attachment; filename*0*=utf-8''%C3%A4; filename*1=\"b.txt\"", '').params.filename).toBe('äb.txt');
    expect(parseContentType(undefined, 'message/rfc822')).toEqual({ type: 'message/rfc822', params: {} });
  });
});
