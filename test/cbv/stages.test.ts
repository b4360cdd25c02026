/**
 * A probe against a real smtp-server on loopback, failing at each stage a
 * remote can fail at: greeting, EHLO/HELO, MAIL, RCPT; and the never-DATA
 * and QUIT rules.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { oneMx, said, testEngine } from '../helpers/cbv-fixture.js';
import { startSmtpRemote, type SmtpRemote, type SmtpRemoteScript } from '../helpers/smtp-remote.js';
import { startBlackhole } from '../helpers/blackhole.js';

let dns: TestDnsServer;
let remote: SmtpRemote | undefined;

beforeAll(async () => {
  dns = await startDnsServer(oneMx('example.test'));
});
afterAll(() => dns.close());
afterEach(async () => {
  await remote?.close();
  remote = undefined;
});

async function check(script: SmtpRemoteScript, address = 'alice@example.test') {
  remote = await startSmtpRemote(script);
  return testEngine(dns, remote.port).verify(address);
}

describe('verdicts by stage', () => {
  it('passes when RCPT TO gets 250, and never sends DATA', async () => {
    const v = await check({});
    expect(v).toMatchObject({ status: 'pass', result: 'pass', stage: 'rcpt', reason: 'accepted', host: 'mx.example.test', ip: '127.0.0.1', cached: false });
    expect(v.reply).toMatch(/^250 /);
    expect(remote?.log).toEqual(['MAIL <>', 'RCPT <alice@example.test>']);
    expect(remote?.sawData).toBe(false);
    expect(said(v)).toEqual(['EHLO probe.test', 'MAIL FROM:<>', 'RCPT TO:<alice@example.test>', 'QUIT']);
    expect(v.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('fails (result error) when RCPT TO gets 550, with the remote reply', async () => {
    const v = await check({ rcpt: () => ({ code: 550, message: '5.1.1 No such user' }) });
    expect(v).toMatchObject({ status: 'fail', result: 'error', stage: 'rcpt', reason: 'rejected' });
    expect(v.reply).toBe('550 5.1.1 No such user');
    expect(v.message).toBe(v.reply);
    expect(remote?.sawData).toBe(false);
  });

  it('is transient when RCPT TO gets 450 (greylisting is never an error)', async () => {
    const v = await check({ rcpt: () => ({ code: 450, message: '4.2.0 Greylisted' }) });
    expect(v).toMatchObject({ status: 'transient', result: 'transient', stage: 'rcpt', reason: 'tempfail' });
    expect(v.reply).toBe('450 4.2.0 Greylisted');
  });

  it('is an error when MAIL FROM:<> gets 550 (the domain rejects the null sender)', async () => {
    const v = await check({ mail: () => ({ code: 550, message: '5.7.1 no bounces here' }) });
    expect(v).toMatchObject({ status: 'error', result: 'error', stage: 'mail', reason: 'sender-rejected' });
    expect(remote?.log).toEqual(['MAIL <>']);
  });

  it('is transient when MAIL FROM gets 451', async () => {
    const v = await check({ mail: () => ({ code: 451, message: '4.3.0 try later' }) });
    expect(v).toMatchObject({ status: 'transient', stage: 'mail', reason: 'tempfail' });
  });

  it('is an error when the greeting is 554', async () => {
    const v = await check({ greeting: { code: 554, message: 'go away' } });
    expect(v).toMatchObject({ status: 'error', result: 'error', stage: 'greeting', reason: 'greeting-rejected' });
    expect(v.reply).toMatch(/^554 /);
    expect(remote?.log).toEqual([]);
  });

  it('is transient when the greeting is 421', async () => {
    const v = await check({ greeting: { code: 421, message: 'busy' } });
    expect(v).toMatchObject({ status: 'transient', stage: 'greeting', reason: 'tempfail' });
  });

  it('is transient (connect-timeout) when the connection is never accepted', async () => {
    const hole = await startBlackhole();
    try {
      const v = await testEngine(dns, hole.port, { connectTimeoutMs: 300 }).verify('alice@example.test');
      expect(v).toMatchObject({ status: 'transient', result: 'transient', stage: 'connect', reason: 'connect-timeout', ip: '127.0.0.1' });
      expect(said(v)).toEqual([]);
    } finally {
      await hole.close();
    }
  });

  it('is transient when the greeting is slower than the greeting timeout, and sends no QUIT after it', async () => {
    remote = await startSmtpRemote({ greetingDelayMs: 1500 });
    const v = await testEngine(dns, remote.port, { greetingTimeoutMs: 300 }).verify('alice@example.test');
    expect(v).toMatchObject({ status: 'transient', stage: 'greeting', reason: 'timeout' });
    expect(said(v)).toEqual([]);
  });

  it('falls back to HELO when EHLO is not recognised', async () => {
    const v = await check({ disableEhlo: true });
    expect(v).toMatchObject({ status: 'pass', stage: 'rcpt' });
    expect(said(v).slice(0, 2)).toEqual(['EHLO probe.test', 'HELO probe.test']);
  });

  it('is transient when RCPT TO is answered after the command timeout', async () => {
    remote = await startSmtpRemote({ rcpt: () => ({ code: 250, message: 'ok', delayMs: 1500 }) });
    const v = await testEngine(dns, remote.port, { commandTimeoutMs: 300 }).verify('alice@example.test');
    expect(v).toMatchObject({ status: 'transient', stage: 'rcpt', reason: 'timeout' });
    expect(said(v)).not.toContain('QUIT');
  });

  it('uses the configured probe sender and lets the caller override it', async () => {
    remote = await startSmtpRemote({});
    const engine = testEngine(dns, remote.port, { mailFrom: 'cbv@probe.test' });
    await engine.verify('alice@example.test');
    await engine.verify('bob@example.test', { sender: 'other@probe.test' });
    await engine.verify('carol@example.test', { sender: '' });
    expect(remote.log.filter((l) => l.startsWith('MAIL'))).toEqual(['MAIL <cbv@probe.test>', 'MAIL <other@probe.test>', 'MAIL <>']);
  });

  it('reports a multi-line reply whole', async () => {
    const v = await check({ rcpt: () => ({ code: 550, message: '5.1.1 first line\nsecond line' }) });
    expect(v.status).toBe('fail');
    expect(v.reply).toContain('first line');
    expect(v.reply).toContain('second line');
  });
});

describe('STARTTLS', () => {
  it('upgrades when offered, says EHLO again, and probes over TLS', async () => {
    const v = await check({ startTls: true });
    expect(v).toMatchObject({ status: 'pass', stage: 'rcpt' });
    expect(said(v)).toEqual(['EHLO probe.test', 'STARTTLS', 'EHLO probe.test', 'MAIL FROM:<>', 'RCPT TO:<alice@example.test>', 'QUIT']);
    expect(remote?.log).toEqual(['MAIL <>', 'RCPT <alice@example.test> secure']);
    expect(v.transcript.some((l) => l.dir === '*' && l.text.startsWith('TLS'))).toBe(true);
  });

  it('does not try STARTTLS when startTls is off', async () => {
    remote = await startSmtpRemote({ startTls: true });
    const v = await testEngine(dns, remote.port, { startTls: false }).verify('alice@example.test');
    expect(said(v)).not.toContain('STARTTLS');
    expect(remote.log).toEqual(['MAIL <>', 'RCPT <alice@example.test>']);
  });
});
