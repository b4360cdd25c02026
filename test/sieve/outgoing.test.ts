/** The messages hosts send for recorded actions: vacation replies (RFC 5230 4-5) and redirects. */
import { describe, expect, it } from 'vitest';
import { composeRedirect } from '../../src/sieve/redirect-out.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import { composeVacationReply } from '../../src/sieve/vacation-reply.js';

const msg = (headers: string) => parseMessage(`${headers}\nSubject: Lunch?\nMessage-ID: <m1@example.org>\n\nbody\n`);
const env = { from: 'joe@example.org', to: ['me@example.com'] };

describe('composeVacationReply', () => {
  it('replies to the sender, from the address the mail was sent to, threaded', () => {
    const r = composeVacationReply({ reason: 'Away' }, msg('From: Joe <joe@example.org>\nTo: me@example.com'), env)!;
    expect(r.envelope).toEqual({ from: '', to: ['joe@example.org'] });
    expect(r.text).toContain('From: <me@example.com>');
    expect(r.text).toContain('To: "Joe" <joe@example.org>');
    expect(r.text).toContain('Subject: Auto: Lunch?');
    expect(r.text).toContain('In-Reply-To: <m1@example.org>');
    expect(r.text).toContain('Auto-Submitted: auto-replied (vacation)');
  });

  it.each([
    ['a mailing list', 'List-Id: <l.example.org>\nTo: me@example.com', env],
    ['bulk mail', 'Precedence: bulk\nTo: me@example.com', env],
    ['an auto-submitted message', 'Auto-Submitted: auto-generated\nTo: me@example.com', env],
    ['Microsoft OOF suppression', 'X-Auto-Response-Suppress: DR, OOF\nTo: me@example.com', env],
    ['mail not addressed to the user', 'To: all@example.com', env],
    ['the null sender', 'To: me@example.com', { ...env, from: '<>' }],
    ['a system address', 'To: me@example.com', { ...env, from: 'owner-list@example.org' }],
    ['oneself', 'To: me@example.com', { ...env, from: 'me@example.com' }],
  ])('does not reply to %s', (_what, headers, e) => {
    expect(composeVacationReply({ reason: 'Away' }, msg(headers), e)).toBeNull();
  });

  it('does not parse recipient fields of more than 64 KiB: bulk mail, with no reply (RFC 5230 4.5, 4.6)', () => {
    const many = `To: ${'someone@example.net, '.repeat(3_200)}me@example.com`;
    expect(composeVacationReply({ reason: 'Away' }, msg(`From: Joe <joe@example.org>\n${many}`), env)).toBeNull();
    // Just under, the user is found in it and gets a reply.
    const fewer = `To: ${'someone@example.net, '.repeat(3_000)}me@example.com`;
    expect(composeVacationReply({ reason: 'Away' }, msg(`From: Joe <joe@example.org>\n${fewer}`), env)?.text).toContain('From: <me@example.com>');
    // Without the recipient check, the reply goes, to the sender without a display name from a From that long.
    const longFrom = `From: ${'Joe Bloggs <bloggs@example.net>, '.repeat(2_200)}Joe <joe@example.org>`;
    const r = composeVacationReply({ reason: 'Away' }, msg(`${longFrom}\n${many}`), env, (n) => (n === 'sieve_vacation_check_recipient' ? 'no' : undefined));
    expect(r?.text).toContain('To: <joe@example.org>');
  });

  it('accepts :addresses as the user\'s own', () => {
    const r = composeVacationReply({ reason: 'Away', addresses: ['alias@example.com'] }, msg('To: alias@example.com'), env);
    expect(r?.text).toContain('From: <alias@example.com>');
  });
});

describe('composeRedirect', () => {
  it('marks the message and keeps the sender by default', () => {
    const r = composeRedirect('fwd@example.net', msg('To: me@example.com'), env)!;
    expect(r.envelope).toEqual({ from: 'joe@example.org', to: ['fwd@example.net'] });
    expect(r.text.startsWith('X-Sieve-Redirected-From: me@example.com\r\n')).toBe(true);
  });
  it('refuses a loop', () => {
    expect(composeRedirect('fwd@example.net', msg('X-Sieve-Redirected-From: me@example.com\nTo: me@example.com'), env)).toBeNull();
  });
  it('uses the configured envelope sender, but keeps the null sender', () => {
    const setting = (n: string) => (n === 'sieve_redirect_envelope_from' ? 'recipient' : undefined);
    expect(composeRedirect('f@example.net', msg('To: x@y'), env, setting)!.envelope.from).toBe('me@example.com');
    expect(composeRedirect('f@example.net', msg('To: x@y'), { ...env, from: '<>' }, setting)!.envelope.from).toBe('');
  });
});
