/**
 * Messages the host composes from a received one (a vacation reply, a
 * notification) keep only the start of its Subject and other fields: only
 * that start is decoded (rfc2047.ts decodedHeaderStart), so a 10 MB Subject
 * of encoded-words is not decoded whole on the event loop, which held every
 * session one to two seconds (docs/sieve-interpreter.md). What is kept is
 * what the whole value, decoded and cut, gives.
 */
import fc from 'fast-check';
import libmimeModule from 'libmime';
import { describe, expect, it } from 'vitest';
import { longestDecoded } from './longest-decoded.js';
import { cutWithEllipsis, MAX_SUBJECT } from '../../src/sieve/composed-text.js';
import { composeNotifications } from '../../src/sieve/notify-out.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import { decodedHeaderStart, decodedHeaderValue } from '../../src/sieve/runtime/rfc2047.js';
import { composeVacationReply } from '../../src/sieve/vacation-reply.js';


const WORDS = ['=?utf-8?Q?caf=C3=A9?=', '=?utf-8?B?4oKs?=', '=?iso-8859-1?Q?na=EFve?=', 'plain', 'au', 'lait', '=?utf-8?Q?=F0=9F=98=80?=', 'x'];
const env = { from: 'joe@example.org', to: ['me@example.com'] };
/** A Subject of about `size` characters of encoded-words, as an attacker may send. */
const hugeSubject = (size: number) => `${'=?utf-8?Q?caf=C3=A9_au_lait?= '.repeat(Math.ceil(size / 30))}end`;

describe('decodedHeaderStart', () => {
  it('gives what the whole value decoded gives, as far as it is kept (property)', () => {
    const piece = fc.oneof(fc.constantFrom(...WORDS), fc.constantFrom(' ', '  ', '\t', '\r\n '));
    fc.assert(
      fc.property(fc.array(piece, { minLength: 0, maxLength: 600 }).map((a) => a.join('')), fc.integer({ min: 1, max: 4 }), (raw, keep) => {
        expect(Array.from(decodedHeaderStart(raw, keep)).slice(0, keep)).toEqual(Array.from(decodedHeaderValue(raw)).slice(0, keep));
      }),
      { numRuns: 200 },
    );
  });

  it('decodes only a start of a long value', async () => {
    const raw = hugeSubject(2 << 20);
    let start = '';
    expect(await longestDecoded(() => (start = decodedHeaderStart(raw, 256)))).toBeLessThanOrEqual(256 * 80 + 1024);
    // Whitespace between adjacent encoded-words is not part of the text (RFC 2047 6.2).
    expect(start.startsWith('café au laitcafé au lait')).toBe(true);
  });
});

describe('cutWithEllipsis', () => {
  // The two copies vacation-reply.ts and notify-out.ts had, which it replaces.
  const vacationCut = (subject: string) => {
    const chars = Array.from(subject);
    return chars.length > MAX_SUBJECT ? `${chars.slice(0, MAX_SUBJECT - 1).join('')}\u2026` : subject;
  };
  const notifyCut = (text: string, max = MAX_SUBJECT) => {
    const chars = Array.from(text.replace(/[\r\n]+/g, ' '));
    return chars.length > max ? `${chars.slice(0, max - 1).join('')}\u2026` : chars.join('');
  };

  it('cuts as both copies it replaces did (property)', () => {
    const text = fc.array(fc.oneof(fc.constantFrom('a', ' ', 'é', '😀', '\r\n', '\n', '\ud800', '\u2026'), fc.string({ unit: 'grapheme', maxLength: 8 })), { maxLength: 400 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 1000 }), (t, max) => {
        expect(cutWithEllipsis(t)).toBe(vacationCut(t));
        expect(cutWithEllipsis(t.replace(/[\r\n]+/g, ' '), max)).toBe(notifyCut(t, max));
        expect(Array.from(cutWithEllipsis(t, max)).length).toBeLessThanOrEqual(max);
      }),
      { numRuns: 500 },
    );
  });
});

describe('a reply or notification over a huge Subject', () => {
  const message = () => parseMessage(`From: joe@example.org\r\nTo: me@example.com\r\nSubject: ${hugeSubject(2 << 20)}\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n`);

  it('vacation: decodes only what the reply Subject keeps, and keeps what it kept', async () => {
    const m = message();
    let r!: NonNullable<ReturnType<typeof composeVacationReply>>;
    expect(await longestDecoded(() => (r = composeVacationReply({ reason: 'Away' }, m, env)!))).toBeLessThanOrEqual(256 * 80 + 1024);
    const subject = /\r?\nSubject: (.*(?:\r?\n[ \t].*)*)/.exec(r.text)![1]!.replace(/\r?\n[ \t]/g, ' ');
    const whole = Array.from(`Auto: ${decodedHeaderValue(hugeSubject(2 << 20))}`);
    expect(libmimeModule.decodeWords(subject)).toBe(`${whole.slice(0, 255).join('')}\u2026`);
  });

  it('notify: decodes only what the notification keeps; its default body has lines of at most 998 characters (RFC 5322 2.1.1)', async () => {
    const m = message();
    let n: ReturnType<typeof composeNotifications>[number] | undefined;
    expect(await longestDecoded(() => ([n] = composeNotifications([{ method: 'mailto:boss@example.net' }], m, env, { postmaster: 'postmaster@example.com' })))).toBeLessThanOrEqual(998 * 80 + 1024);
    const head = n!.text.slice(0, n!.text.indexOf('\r\n\r\n'));
    const subject = /(?:^|\r\n)Subject: (.*(?:\r\n[ \t].*)*)/.exec(head)![1]!.replace(/\r\n[ \t]/g, ' ');
    const whole = Array.from(`New mail: ${decodedHeaderValue(hugeSubject(2 << 20))}`);
    expect(libmimeModule.decodeWords(subject)).toBe(`${whole.slice(0, 255).join('')}\u2026`);
    const body = n!.text.slice(n!.text.indexOf('\r\n\r\n') + 4);
    for (const line of body.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    expect(body).toContain('Subject: café au laitcafé au lait');
    expect(body).toContain('Date: Mon, 1 Jan 2024 00:00:00 +0000');
  });
});
