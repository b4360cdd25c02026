/**
 * Sieve scripts bound to phases, run by the real server over loopback:
 * replies, phase 1/phase 2, delivery choices, runtime errors, and the CBV
 * verdict read by a later phase.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { functionServices } from '../../src/policy/functions.js';
import { SievePolicy, type SievePolicyOptions } from '../../src/session/policy.js';
import { SenderVerification } from '../../src/session/sender-verification.js';
import type { SessionServices } from '../../src/session/session.js';
import { oneMx, testEngine } from '../helpers/cbv-fixture.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { type Bindings, compilePhases } from '../helpers/phase-scripts.js';
import { sendMail, startTestServer } from '../helpers/server-fixture.js';
import { startSmtpRemote } from '../helpers/smtp-remote.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});


async function serve(bindings: Bindings, extra: Partial<SievePolicyOptions> = {}, services: Partial<SessionServices> = {}) {
  const policy = new SievePolicy({ scripts: compilePhases(bindings), runtimeError: 'fail', ...extra });
  const t = await startTestServer(policy, { services });
  cleanups.push(() => t.close());
  return t;
}

describe('phase scripts decide the replies', () => {
  it('reject at MAIL FROM is 550 5.7.1 with the reason', async () => {
    const t = await serve({ mailfrom: { phase1: 'require ["envelope", "reject"];\nif envelope :domain :is "from" "spam.test" { reject "no mail from spam.test"; }' } });
    const r = await sendMail(await t.client(), 'x@spam.test', ['bob@here.test']);
    expect(r.mail.text).toBe('550 5.7.1 no mail from spam.test');
    const ok = await sendMail(await t.client(), 'x@fine.test', ['bob@here.test']);
    expect(ok.end?.code).toBe(250);
  });

  it('advertize_esmtp_capability and disable_esmtp_capability at connect and EHLO change every EHLO answer of the connection', async () => {
    const t = await serve({
      connect: { phase1: 'advertize_esmtp_capability "X-POLICY checked"; disable_esmtp_capability "pipelining";' },
      ehlo: { phase1: 'disable_esmtp_capability "SMTPUTF8"; advertize_esmtp_capability "8BITMIME";' },
    });
    const c = await t.client();
    await c.reply();
    const keywords = async (command: string) => (await c.command(command)).lines.slice(1).map((l) => l.slice(4));
    const first = await keywords('EHLO client.test');
    expect(first).toContain('X-POLICY checked');
    expect(first).not.toContain('PIPELINING');
    expect(first).not.toContain('SMTPUTF8');
    expect(first.filter((k) => k === '8BITMIME')).toHaveLength(1); // offered once, already smtp-server's
    await c.command('RSET');
    expect(await keywords('EHLO client.test')).toEqual(first);
    expect((await c.command('HELO client.test')).lines).toHaveLength(1);
  });

  it('reject at connect is 554 and the connection closes', async () => {
    const t = await serve({ connect: { phase1: 'require "reject";\nreject "not from here";' } });
    const c = await t.client();
    expect((await c.reply()).text).toBe('554 5.7.1 not from here');
    await c.waitClosed();
  });

  it('RCPT TO sees the recipient being decided in the envelope', async () => {
    const t = await serve({ rcptto: { phase1: 'require ["envelope", "reject"];\nif envelope :localpart :is "to" "nobody" { reject "no such user"; }' } });
    const r = await sendMail(await t.client(), 'a@s.test', ['nobody@here.test', 'bob@here.test']);
    expect(r.rcpts.map((x) => x.text)).toEqual(['550 5.7.1 no such user', '250 2.1.5 Accepted']);
    expect((await t.spooled())[0]!.envelope.recipients).toEqual(['bob@here.test']);
  });

  it('DATA scripts read the header and choose the folder; the implicit keep spools to INBOX', async () => {
    const t = await serve({ data: { phase1: 'require "fileinto";\nif header :contains "subject" "[list]" { fileinto "Lists"; }' } });
    await sendMail(await t.client(), 'a@s.test', ['bob@here.test'], 'Subject: [list] news\r\n\r\nbody\r\n');
    await sendMail(await t.client(), 'a@s.test', ['bob@here.test'], 'Subject: hello\r\n\r\nbody\r\n');
    expect((await t.spooled('.Lists')).map((m) => m.message)).toEqual([expect.stringContaining('Subject: [list] news')]);
    expect((await t.spooled()).map((m) => m.message)).toEqual([expect.stringContaining('Subject: hello')]);
  });

  it('discard at DATA answers 250 and stores nothing; redirect sends a copy to the new address', async () => {
    const t = await serve({ data: { phase1: 'if header :contains "subject" "junk" { discard; } elsif header :contains "subject" "fwd" { redirect "boss@else.test"; }' } });
    const junk = await sendMail(await t.client(), 'a@s.test', ['bob@here.test'], 'Subject: junk\r\n\r\nx\r\n');
    expect(junk.end?.code).toBe(250);
    expect(await t.spooled()).toEqual([]);
    await sendMail(await t.client(), 'a@s.test', ['bob@here.test'], 'Subject: fwd\r\n\r\nx\r\n');
    expect((await t.spooled()).map((m) => m.envelope.recipients)).toEqual([['boss@else.test']]);
  });

  it('discard of one recipient at RCPT TO accepts it but delivers only to the others', async () => {
    const t = await serve({ rcptto: { phase1: 'require "envelope";\nif envelope :localpart :is "to" "blackhole" { discard; }' } });
    const r = await sendMail(await t.client(), 'a@s.test', ['blackhole@here.test', 'bob@here.test']);
    expect(r.rcpts.map((x) => x.code)).toEqual([250, 250]);
    expect((await t.spooled()).map((m) => m.envelope.recipients)).toEqual([['bob@here.test']]);
  });

  it('fileinto at MAIL FROM holds for the transaction and is applied at DATA', async () => {
    const t = await serve({ mailfrom: { phase1: 'require ["fileinto", "envelope"];\nif envelope :domain :is "from" "lists.test" { fileinto "Lists"; }' } });
    await sendMail(await t.client(), 'a@lists.test', ['bob@here.test']);
    expect(await t.spooled()).toEqual([]);
    expect(await t.spooled('.Lists')).toHaveLength(1);
  });

  it('phase 2 runs only when phase 1 did not decide', async () => {
    const t = await serve({
      mailfrom: {
        phase1: 'require ["envelope", "reject"];\nif envelope :domain :is "from" "site.test" { reject "site says no"; }',
        phase2: 'require "reject";\nreject "vendor says no";',
      },
    });
    expect((await sendMail(await t.client(), 'a@site.test', ['b@here.test'])).mail.text).toBe('550 5.7.1 site says no');
    expect((await sendMail(await t.client(), 'a@other.test', ['b@here.test'])).mail.text).toBe('550 5.7.1 vendor says no');
  });

  it("a runtime error answers 451 4.3.0 with runtime_error = fail, and is ignored with continue", async () => {
    // Five redirects exceed the limit of four: a runtime error (RFC 5228 2.10.6).
    const failing = 'redirect "a@x.test"; redirect "b@x.test"; redirect "c@x.test"; redirect "d@x.test"; redirect "e@x.test";';
    const strict = await serve({ mailfrom: { phase1: failing } });
    expect((await sendMail(await strict.client(), 'a@s.test', ['b@here.test'])).mail.text).toBe('451 4.3.0 Temporary policy error, please try again later');
    const lenient = await serve({ mailfrom: { phase1: failing } }, { runtimeError: 'continue' });
    const r = await sendMail(await lenient.client(), 'a@s.test', ['b@here.test']);
    expect(r.mail.code).toBe(250);
    expect((await lenient.spooled()).map((m) => m.envelope.recipients)).toEqual([['b@here.test']]);
  });

  it('a later phase reads the CBV verdict through the environment, waiting for it', async () => {
    const remote = await startSmtpRemote({ greetingDelayMs: 100, rcpt: (addr) => (addr.startsWith('ghost') ? { code: 550, message: '5.1.1 unknown' } : undefined) });
    const dns = await startDnsServer(oneMx('sender.test'));
    cleanups.push(() => remote.close(), () => dns.close());
    const engine = testEngine(dns, remote.port);
    const cbv = new SenderVerification(engine, { enabled: true, phase: 'mailfrom', deadlineMs: 3000 }, pino({ level: 'silent' }));
    const t = await serve(
      { rcptto: { phase1: 'require ["environment", "reject"];\nif environment :is "vnd.smtp-cbv.smtp_cbv_result" "error" { reject "sender verification failed"; }' } },
      {},
      { cbv, functionServices: functionServices(engine) },
    );
    const bad = await sendMail(await t.client(), 'ghost@sender.test', ['bob@here.test']);
    expect(bad.mail.code).toBe(250); // the probe does not hold up MAIL FROM
    expect(bad.rcpts[0]!.text).toBe('550 5.7.1 sender verification failed');
    const good = await sendMail(await t.client(), 'alice@sender.test', ['bob@here.test']);
    expect(good.end?.code).toBe(250);
    const [spooled] = await t.spooled();
    expect(spooled!.envelope.verdicts).toMatchObject({ smtp_cbv_result: 'pass', smtp_cbv_stage: 'rcpt' });
  });
});

describe('header edits reach the spool', () => {
  it('ec_header_add at RCPT TO and ec_header_delete at DATA change the spooled message', async () => {
    const t = await serve({
      rcptto: { phase1: 'ec_header_add "X-Checked" "rcpt phase";' },
      data: { phase1: 'ec_header_delete "X-Internal";' },
    });
    await sendMail(await t.client(), 'a@s.test', ['b@here.test'], 'X-Internal: secret\r\nSubject: s\r\n\r\nbody\r\n');
    const [m] = await t.spooled();
    expect(m!.message).toMatch(/^Received: [\s\S]*?\r\nX-Checked: rcpt phase\r\nSubject: s\r\n\r\nbody\r\n$/);
    expect(m!.message).not.toContain('X-Internal');
  });

  it('ec_header_prefix and ec_header_postfix change the first field of a name in the spooled message', async () => {
    const t = await serve({ data: { phase1: 'ec_header_prefix "Subject" "[SPAM] "; ec_header_postfix "subject" " (scored)";' } });
    await sendMail(await t.client(), 'a@s.test', ['b@here.test'], 'Subject: win\r\nSubject: again\r\n\r\nbody\r\n');
    const [m] = await t.spooled();
    expect(m!.message).toMatch(/\r\nSubject: \[SPAM\] win \(scored\)\r\nSubject: again\r\n\r\nbody\r\n$/);
  });

  it("editheader's addheader and deleteheader edit the message that is spooled", async () => {
    const t = await serve({ data: { phase1: 'require "editheader";\naddheader "X-Policy" "checked";\ndeleteheader "X-Drop";' } });
    await sendMail(await t.client(), 'a@s.test', ['b@here.test'], 'X-Drop: 1\r\nSubject: s\r\n\r\nbody\r\n');
    const [m] = await t.spooled();
    expect(m!.message).toContain('X-Policy: checked\r\n');
    expect(m!.message).not.toContain('X-Drop');
  });
});
