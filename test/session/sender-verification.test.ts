/**
 * The smtp_cbv module at SMTP time, with the real CBV engine probing a
 * scripted remote on 127.0.0.1 through a DNS server on 127.0.0.1.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SenderVerification } from '../../src/session/sender-verification.js';
import { ConnectionState, Transaction } from '../../src/session/state.js';
import { oneMx, testEngine } from '../helpers/cbv-fixture.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { type SmtpRemoteScript, startSmtpRemote } from '../helpers/smtp-remote.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(script: SmtpRemoteScript, options: Partial<ConstructorParameters<typeof SenderVerification>[1]> = {}) {
  const remote = await startSmtpRemote(script);
  const dns = await startDnsServer(oneMx('sender.test'));
  cleanups.push(() => remote.close(), () => dns.close());
  const engine = testEngine(dns, remote.port);
  const cbv = new SenderVerification(engine, { enabled: true, phase: 'mailfrom', deadlineMs: 3000, ...options }, pino({ level: 'silent' }));
  return { remote, cbv };
}

/** A connection and its transaction from `mailFrom`: what the session hands the service. */
function session(mailFrom: string, context: Record<string, string> = {}) {
  const c = new ConnectionState({ id: 's1', remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 2, tls: false, context, hostname: 'mx.test', banner: '' });
  return { c, tx: new Transaction(mailFrom, 's1.1') };
}

describe('SenderVerification', () => {
  it('starts at MAIL FROM without waiting, and a later phase reads the verdict', async () => {
    const { remote, cbv } = await setup({ greetingDelayMs: 150 });
    const s = session('alice@sender.test');
    const started = Date.now();
    cbv.accepted('mailfrom', s.c, s.tx);
    expect(Date.now() - started).toBeLessThan(50); // the reply to MAIL FROM is not held up
    expect(s.tx.context.get('smtp_cbv_result')).toBeUndefined();
    await cbv.settle(s.c, s.tx);
    expect(Object.fromEntries(s.tx.context)).toMatchObject({ smtp_cbv_result: 'pass', smtp_cbv_stage: 'rcpt', smtp_cbv_reason: 'accepted', smtp_cbv_cached: 'false' });
    expect(s.tx.context.get('smtp_cbv_host')).toBe('mx.sender.test [127.0.0.1]');
    expect(remote.log).toContain('RCPT <alice@sender.test>');
    expect(remote.sawData).toBe(false);
  });

  it('sets error for a sender the remote rejects at RCPT', async () => {
    const { cbv } = await setup({ rcpt: () => ({ code: 550, message: '5.1.1 no such user' }) });
    const s = session('ghost@sender.test');
    cbv.accepted('mailfrom', s.c, s.tx);
    await cbv.settle(s.c, s.tx);
    expect(s.tx.context.get('smtp_cbv_result')).toBe('error');
    expect(s.tx.context.get('smtp_cbv_reply')).toContain('550');
  });

  it('with phase rcptto, starts at the first accepted RCPT only, once per transaction', async () => {
    const { remote, cbv } = await setup({}, { phase: 'rcptto' });
    const s = session('alice@sender.test');
    cbv.accepted('mailfrom', s.c, s.tx);
    await cbv.settle(s.c, s.tx);
    expect(remote.connections).toBe(0);
    expect(cbv.comesAfterStart('rcptto')).toBe(false);
    expect(cbv.comesAfterStart('data')).toBe(true);
    cbv.accepted('rcptto', s.c, s.tx);
    cbv.accepted('rcptto', s.c, s.tx);
    await cbv.settle(s.c, s.tx);
    expect(s.tx.context.get('smtp_cbv_result')).toBe('pass');
    expect(remote.connections).toBe(1);
  });

  it('makes no probe for the null sender: result unset, reason null-sender', async () => {
    const { remote, cbv } = await setup({});
    const s = session('');
    cbv.accepted('mailfrom', s.c, s.tx);
    await cbv.settle(s.c, s.tx);
    expect(s.tx.context.has('smtp_cbv_result')).toBe(false);
    expect(s.tx.context.get('smtp_cbv_reason')).toBe('null-sender');
    expect(remote.connections).toBe(0);
  });

  it('skips connections whose context sets __bypass_smtp_cbv, and does nothing when disabled', async () => {
    const { remote, cbv } = await setup({});
    const bypassed = session('alice@sender.test', { __bypass_smtp_cbv: 'true' });
    cbv.accepted('mailfrom', bypassed.c, bypassed.tx);
    expect(bypassed.tx.context.get('smtp_cbv_reason')).toBe('bypass');
    const passive = new SenderVerification(cbv.verifier, { enabled: false, phase: 'mailfrom', deadlineMs: 1000 }, pino({ level: 'silent' }));
    const s = session('alice@sender.test');
    passive.accepted('mailfrom', s.c, s.tx);
    await passive.settle(s.c, s.tx);
    expect([...s.tx.context.keys()].filter((k) => k.startsWith('smtp_cbv_'))).toEqual([]);
    expect(remote.connections).toBe(0);
  });

  it('never waits past the deadline: the verdict is then transient, reason deadline', async () => {
    const { cbv } = await setup({ greetingDelayMs: 2000 }, { deadlineMs: 200 });
    const s = session('slow@sender.test');
    const started = Date.now();
    cbv.accepted('mailfrom', s.c, s.tx);
    await cbv.settle(s.c, s.tx);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(Object.fromEntries(s.tx.context)).toMatchObject({ smtp_cbv_result: 'transient', smtp_cbv_reason: 'deadline' });
  });

  it('keeps transactions apart: a new message context starts a new check', async () => {
    const { remote, cbv } = await setup({});
    const s = session('alice@sender.test');
    cbv.accepted('mailfrom', s.c, s.tx);
    await cbv.settle(s.c, s.tx);
    const next = { c: s.c, tx: new Transaction('bob@sender.test', 's1.2') };
    cbv.accepted('mailfrom', next.c, next.tx);
    await cbv.settle(next.c, next.tx);
    expect(next.tx.context.get('smtp_cbv_result')).toBe('pass');
    expect(remote.log.filter((l) => l.startsWith('RCPT'))).toEqual(['RCPT <alice@sender.test>', 'RCPT <bob@sender.test>']);
  });
});
