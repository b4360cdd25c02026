/**
 * DELIVERBY (RFC 2852) at the SMTP front door, over a real socket: offered
 * in EHLO, the BY parameter read at MAIL FROM, seen by Sieve's
 * envelope-deliverby (RFC 6009 5), and carried into the queue with the
 * message and with a redirect's own deadline (RFC 6009 6).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RelayServer, startRelayServer } from '../helpers/relay-server.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';
import type { QueueStore } from '../../src/delivery/queue-store.js';

const SCRIPT = `require ["envelope", "envelope-deliverby", "redirect-deliverby", "copy", "relational", "comparator-i;ascii-numeric"];
if envelope :is "bytrace" "trace" { reject "traced"; }
if allof (envelope :is "bymode" "return",
          envelope :value "gt" :comparator "i;ascii-numeric" "bytimerelative" "3000") {
  redirect :copy :bytimerelative 300 :bymode "return" "watch@dest.test";
}
`;

let relay: RelayServer;
beforeAll(async () => {
  // The next hop defers everything, so entries stay in the queue to be read.
  relay = await startRelayServer(SCRIPT, [], { rcpt: () => [450, '4.2.0 try later'] });
});
afterAll(async () => {
  await relay?.stop();
});

async function session(by: string) {
  const c = await RawSmtpClient.open(relay.port);
  try {
    await c.reply();
    const ehlo = await c.command('EHLO client.test');
    const mail = await c.command(`MAIL FROM:<alice@sender.test> ${by}`);
    if (mail.code !== 250) return { ehlo, mail };
    await c.command('RCPT TO:<bob@dest.test>');
    await c.command('DATA');
    const end = await c.command('From: alice@sender.test\r\nSubject: by\r\n\r\nx\r\n.');
    return { ehlo, mail, end };
  } finally {
    c.close();
  }
}

const entries = async () => (await (relay.running.services.store as QueueStore).queue.snapshot()).map((e) => e.header);

describe('DELIVERBY', () => {
  it('is offered in the EHLO answer', async () => {
    const { ehlo } = await session('');
    expect(ehlo.lines.map((l) => l.slice(4))).toContain('DELIVERBY');
  });

  it('gives Sieve the BY parameter and queues the message and a redirect with their deadlines', async () => {
    const before = Date.now();
    const { end } = await session('BY=3600;R');
    expect(end?.code).toBe(250);
    // The latest message entry (the EHLO test queued one without BY).
    const message = (await entries()).filter((h) => h.kind === 'message' && h.recipients[0]!.address === 'bob@dest.test').at(-1);
    const redirect = (await entries()).find((h) => h.kind === 'redirect' && h.recipients[0]!.address === 'watch@dest.test');
    expect(message?.deliverBy).toMatchObject({ mode: 'return', trace: false });
    expect(message!.deliverBy!.deadline - before).toBeGreaterThanOrEqual(3_600_000);
    expect(message!.deliverBy!.deadline - Date.now()).toBeLessThanOrEqual(3_600_000);
    expect(redirect?.deliverBy).toMatchObject({ mode: 'return', trace: false });
    expect(redirect!.deliverBy!.deadline - before).toBeGreaterThanOrEqual(300_000);
    expect(redirect!.deliverBy!.deadline - Date.now()).toBeLessThanOrEqual(300_000);
  });

  it('gives Sieve the trace flag and the notify mode', async () => {
    const { end } = await session('BY=120;NT');
    expect(end?.code).toBe(550);
    expect(end?.text).toContain('traced');
  });

  it('refuses a malformed BY, or R with a time that is not positive, with 501 5.5.4', async () => {
    for (const by of ['BY=0;R', 'BY=soon', 'BY=10;X']) {
      const { mail } = await session(by);
      expect(mail.code, by).toBe(501);
      expect(mail.text, by).toMatch(/^501 5\.5\.4 Invalid BY parameter/);
    }
  });
});
