/**
 * Pure parts: the reply parser (any chunking of the same bytes gives the
 * same replies) and address handling (syntax, IDN, map).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isNullAddress, makeDomainMap, parseAddress } from '../../src/cbv/address.js';
import { ReplyParser, formatRemoteReply, sanitise } from '../../src/cbv/reply.js';

describe('ReplyParser', () => {
  const text = '220-first\r\n220 second\r\n250-a\r\n250-b\r\n250 c\r\n354\r\n';
  const expected = [
    { code: 220, lines: ['first', 'second'] },
    { code: 250, lines: ['a', 'b', 'c'] },
    { code: 354, lines: [''] },
  ];

  it('gives the same replies however the bytes are split into packets', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 10 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), text.length];
        const p = new ReplyParser(512, 4096);
        const got = [];
        for (let i = 0; i < points.length - 1; i++) {
          const r = p.push(Buffer.from(text.slice(points[i], points[i + 1]), 'latin1'));
          expect(r.failure).toBeUndefined();
          got.push(...r.replies);
        }
        expect(got).toEqual(expected);
      }),
    );
  });

  it('accepts bare LF line ends', () => {
    expect(new ReplyParser(512, 4096).push(Buffer.from('250-a\n250 b\n')).replies).toEqual([{ code: 250, lines: ['a', 'b'] }]);
  });

  it('stops at a line longer than the limit, even before its end arrives', () => {
    const p = new ReplyParser(10, 4096);
    expect(p.push(Buffer.from('250 0123456789abc')).failure).toBe('reply-too-long');
  });

  it('stops at a reply larger than the limit', () => {
    const p = new ReplyParser(100, 20);
    expect(p.push(Buffer.from('250-aaaaaaaa\r\n250-bbbbbbbb\r\n')).failure).toBe('reply-too-long');
  });

  it.each(['hello', '2500 x', '25 x', '650 x', '250x'])('calls %j a protocol error', (line) => {
    expect(new ReplyParser(512, 4096).push(Buffer.from(`${line}\r\n`)).failure).toBe('protocol-error');
  });

  it('reads nothing after a positive reply to STARTTLS until reset, and goes on after a negative one', () => {
    const p = new ReplyParser(512, 4096);
    p.haltAfterPositiveReply();
    expect(p.push(Buffer.from('454 not now\r\n'))).toEqual({ replies: [{ code: 454, lines: ['not now'] }] });
    expect(p.push(Buffer.from('250 ok\r\n')).replies).toHaveLength(1);
    p.haltAfterPositiveReply();
    expect(p.push(Buffer.from('220 go ahead\r\nnot TLS\r\n'))).toEqual({ replies: [{ code: 220, lines: ['go ahead'] }], discarded: 9 });
    expect(p.push(Buffer.from('\x16\x03\x01 anything'))).toEqual({ replies: [], discarded: 12 });
    p.reset();
    expect(p.push(Buffer.from('250 again\r\n')).replies).toEqual([{ code: 250, lines: ['again'] }]);
  });

  it('formats and sanitises a reply for smtp_cbv_reply', () => {
    expect(formatRemoteReply({ code: 550, lines: ['5.1.1 a', 'b\u0000'] })).toBe('550 5.1.1 a b?');
    expect(sanitise('x'.repeat(600))).toHaveLength(512);
  });
});

describe('addresses', () => {
  it('splits at the last @ and lower-cases the domain only', () => {
    expect(parseAddress('<"a@b"@Example.TEST>')).toEqual({ local: '"a@b"', domain: 'example.test' });
    expect(parseAddress('Alice@Example.TEST.')).toEqual({ local: 'Alice', domain: 'example.test' });
    expect(parseAddress('a@x_y.example.test')).toEqual({ local: 'a', domain: 'x_y.example.test' });
    expect(parseAddress(`a@${'a'.repeat(63)}.test`)?.domain).toHaveLength(68);
  });

  it('turns an IDN domain into its A-label', () => {
    expect(parseAddress('jörg@Bücher.TEST')).toEqual({ local: 'jörg', domain: 'xn--bcher-kva.test' });
  });

  it('refuses what is not a plain address', () => {
    for (const a of ['', 'a', 'a@', '@b', 'a@b@', 'a b@c', 'a@[1.2.3.4]', `${'x'.repeat(65)}@a.test`, 'a@-bad-.te st']) {
      expect(parseAddress(a)).toBeUndefined();
    }
  });

  it('refuses domains DNS cannot ask for, and dotted IP addresses', () => {
    for (const a of ['a@a..test', 'a@-x.test', 'a@x-.test', `a@${'a'.repeat(64)}.test`, 'a@.test', 'a@1.2.3.4', 'a@ex%ample.test', `a@${'abc.'.repeat(64)}test`]) {
      expect(parseAddress(a)).toBeUndefined();
    }
  });

  it('knows the null sender', () => {
    expect(['', '<>', ' <> '].every(isNullAddress)).toBe(true);
    expect(isNullAddress('a@b')).toBe(false);
  });

  it('maps exactly and case-insensitively, IDN keys included; subdomains only when asked', () => {
    const exact = makeDomainMap({ 'Yahoo.NET': 'yahoo.com', 'bücher.test': 'books.test' }, false);
    expect(exact('yahoo.net')).toBe('yahoo.com');
    expect(exact('xn--bcher-kva.test')).toBe('books.test');
    expect(exact('mail.yahoo.net')).toBe('mail.yahoo.net');
    expect(exact('yahoo.network')).toBe('yahoo.network');
    const sub = makeDomainMap({ 'yahoo.net': 'yahoo.com', 'eu.yahoo.net': 'yahoo.eu' }, true);
    expect(sub('a.b.yahoo.net')).toBe('yahoo.com');
    expect(sub('x.eu.yahoo.net')).toBe('yahoo.eu');
    expect(sub('notyahoo.net')).toBe('notyahoo.net');
  });
});
