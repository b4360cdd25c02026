/**
 * The SMTP front door's own limits, over real sockets: the greeting pause
 * and early talkers, the total connection cap, a per-address count that
 * frees a slot as soon as the client has said QUIT, and the DATA deadline.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { emptyDecision } from '../../src/session/decide.js';
import type { Policy } from '../../src/session/policy.js';
import { startTestServer, type TestServerOptions } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const acceptAll: Policy = { waitsForVerdict: () => false, run: async () => ({ decision: emptyDecision(), failed: false }) };

async function start(overrides: TestServerOptions = {}) {
  const t = await startTestServer(acceptAll, overrides);
  cleanups.push(() => t.close());
  return t;
}

describe('the SMTP front door', () => {
  it('greets without smtp-server\'s fixed pause by default', async () => {
    const t = await start();
    const c = await t.client();
    // With no greet_pause, a client that sends at once is not an early talker: it gets the greeting, then its answer.
    c.write('EHLO fast.test\r\n');
    expect((await c.reply()).code).toBe(220);
    expect((await c.reply()).code).toBe(250);
  });

  it('with greet_pause, a client that talks before the greeting gets 554 and is disconnected', async () => {
    const t = await start({ greetPauseMs: 300 });
    const early = await t.client();
    early.write('EHLO early.test\r\n');
    expect((await early.reply()).text).toMatch(/^554 5\.5\.0 /);
    await early.waitClosed();
    const patient = await t.client();
    expect((await patient.reply()).code).toBe(220);
  });

  it('refuses connections over the total cap with 421', async () => {
    const t = await start({ maxConnections: 2 });
    const a = await t.client();
    const b = await t.client();
    expect((await a.reply()).code).toBe(220);
    expect((await b.reply()).code).toBe(220);
    const c = await t.client();
    expect((await c.reply()).text).toBe('421 4.3.2 Too many connections, try again later');
    await c.waitClosed();
  });

  it('frees a per-address slot when QUIT is answered, so the next connection is not refused', async () => {
    const t = await start({ maxConnectionsPerIp: 1 });
    for (let i = 0; i < 5; i++) {
      const c = await t.client();
      expect((await c.reply()).code).toBe(220);
      expect((await c.command('QUIT')).code).toBe(221);
      // Straight away, before the server has seen this socket close.
    }
  });

  it('answers 452 4.3.1 when a message would exceed the memory budget and even its spool file\'s buffers do not fit, and frees it after', async () => {
    // Past the budget a message goes to disk (smtp-spool.test.ts); 8,000 octets are too few for the spool file's write buffer too.
    const t = await start({ maxMessageMemory: 8_000, maxMessageSize: 100_000 });
    const send = async (body: string) => {
      const c = await t.client();
      await c.reply();
      await c.command('EHLO big.test');
      await c.command('MAIL FROM:<a@b.test>');
      await c.command('RCPT TO:<c@d.test>');
      await c.command('DATA');
      return (await c.command(`Subject: s\r\n\r\n${body}\r\n.`)).text;
    };
    expect(await send('x'.repeat(20_000))).toBe('452 4.3.1 Insufficient system storage, try again later');
    expect(await send('small')).toMatch(/^250 /);
    expect(await t.spooled()).toHaveLength(1);
  });

  it('ends a DATA transfer that takes longer than data_timeout with 451', async () => {
    const t = await start({ dataTimeoutMs: 300 });
    const c = await t.client();
    await c.reply();
    await c.command('EHLO slow.test');
    await c.command('MAIL FROM:<a@b.test>');
    await c.command('RCPT TO:<c@d.test>');
    expect((await c.command('DATA')).code).toBe(354);
    c.write('Subject: trickle\r\n');
    expect((await c.reply()).text).toBe('451 4.4.2 Message transfer took too long');
    await c.waitClosed();
    expect(await t.spooled()).toEqual([]);
  });
});
