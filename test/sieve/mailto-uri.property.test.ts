/**
 * Property tests for the codecs enotify relies on: percent-encoding
 * (RFC 3986 2.1, the :encodeurl modifier of RFC 5435 6), its cut-to-fit
 * repair, and the mailto URI parser (RFC 6068).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseMailto, splitAddressList } from '../../src/sieve/runtime/mailto-uri.js';
import { percentDecode, percentEncode, trimEncoded } from '../../src/sieve/runtime/uri-encoding.js';

const text = fc.string({ unit: 'binary', maxLength: 60 });

describe('percent-encoding', () => {
  it('decodes what it encodes, and encodes to unreserved characters and %HH only', () => {
    fc.assert(
      fc.property(text, (s) => {
        const e = percentEncode(s);
        expect(e).toMatch(/^(?:[A-Za-z0-9\-._~]|%[0-9A-F]{2})*$/);
        // Lone surrogates are not characters: UTF-8 turns them into U+FFFD.
        expect(percentDecode(e)).toBe(Buffer.from(s, 'utf8').toString('utf8'));
      }),
    );
  });

  it('a cut encoded value, repaired, decodes to a prefix of the original', () => {
    fc.assert(
      fc.property(text, fc.nat(400), (s, n) => {
        const whole = Buffer.from(s, 'utf8').toString('utf8');
        const e = percentEncode(whole);
        const trimmed = trimEncoded(e.slice(0, n));
        const decoded = percentDecode(trimmed);
        expect(decoded).not.toBeNull();
        expect(whole.startsWith(decoded!)).toBe(true);
        expect(trimmed.length).toBeLessThanOrEqual(Math.min(n, e.length));
      }),
    );
  });

  it('refuses malformed escapes and octets that are not UTF-8', () => {
    expect(percentDecode('%4')).toBeNull();
    expect(percentDecode('%zz')).toBeNull();
    expect(percentDecode('%C3')).toBeNull();
    expect(percentDecode('%C3%A9')).toBe('é');
  });
});

const localPart = fc.stringMatching(/^[a-z0-9][a-z0-9.+_-]{0,10}[a-z0-9]$/).filter((s) => !s.includes('..'));
const domain = fc.stringMatching(/^[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){1,2}$/);
const address = fc.tuple(localPart, domain).map(([l, d]) => `${l}@${d}`);

describe('mailto URIs', () => {
  it('gives back the recipients, subject, body and fields an encoder put in', () => {
    fc.assert(
      fc.property(fc.array(address, { maxLength: 3 }), fc.array(address, { maxLength: 2 }), text, text, fc.option(fc.stringMatching(/^X-[A-Za-z0-9-]{1,10}$/)), (to, cc, subject, body, xname) => {
        const oneLine = (s: string) => Buffer.from(s, 'utf8').toString('utf8').replace(/[\r\n]/g, ' ');
        const subj = oneLine(subject);
        const bod = Buffer.from(body, 'utf8').toString('utf8');
        const fields = [`subject=${percentEncode(subj)}`, `body=${percentEncode(bod)}`];
        if (cc.length) fields.push(`cc=${cc.map(percentEncode).join(',')}`);
        if (xname) fields.push(`${xname}=${percentEncode(subj)}`);
        const p = parseMailto(`mailto:${to.map(percentEncode).join('%2C')}?${fields.join('&')}`);
        expect(p.ok).toBe(true);
        if (!p.ok) return;
        expect(p.uri.recipients.map((r) => `${r.field} ${r.text}`)).toEqual([...to.map((a) => `to ${a}`), ...cc.map((a) => `cc ${a}`)]);
        expect([p.uri.subject, p.uri.body]).toEqual([subj, bod]);
        expect(p.uri.headers).toEqual(xname ? [{ name: xname, value: subj }] : []);
      }),
    );
  });

  it('never throws, and never lets a line break into a header field', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
        const p = parseMailto(`mailto:${s}`);
        if (p.ok) for (const h of p.uri.headers) expect(h.value).not.toMatch(/[\r\n]/);
      }),
    );
  });

  it('splits address lists only at the commas between elements', () => {
    expect(splitAddressList('"Doe, J" <j@x.example>, (a, b) k@y.example,<l@z.example>')).toEqual(['"Doe, J" <j@x.example>', '(a, b) k@y.example', '<l@z.example>']);
  });

  it('refuses what RFC 6068 does not allow', () => {
    for (const bad of ['mailto:a@example.org;?x=y', 'mailto:a@example.org?h<=x', 'mailto:a@example.org?h=x>y', 'mailto:a@example.org?h:=x', 'mailto:a%23example.org', 'mailto:?to=b%23example.org', 'mailto:a@example.org?h=a%0D%0AFrom:x', 'http://example.org']) {
      expect(parseMailto(bad).ok, bad).toBe(false);
    }
  });
});
