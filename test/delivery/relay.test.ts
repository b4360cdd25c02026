/**
 * The whole server with routing configured: a client's message goes
 * through the session, into the queue, and out to the next hop; Sieve
 * redirect and vacation reach their next hops as composed messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSink, startMailSink } from '../helpers/mail-sink.js';
import { receivedBy, type RelayServer, startRelayServer } from '../helpers/relay-server.js';
import type { QueueStore } from '../../src/delivery/queue-store.js';

let relay: RelayServer;
let gateway: MailSink;
let senderMx: MailSink;
let running: RelayServer['running'];

const SCRIPT = `require ["vacation", "copy", "envelope"];
if envelope :is "to" "bob@dest.test" {
  redirect :copy "carol@elsewhere.test";
}
if envelope :is "to" "dave@dest.test" {
  ec_redirect "erin@elsewhere.test";
}
if envelope :is "to" "away@dest.test" {
  vacation :subject "Out of office" "I am away until Monday.";
}
`;

beforeAll(async () => {
  senderMx = await startMailSink();
  relay = await startRelayServer(SCRIPT, [`Domain "sender.test" { Gateway = "127.0.0.1:${senderMx.port}" }`]);
  ({ gateway, running } = relay);
});
afterAll(async () => {
  await relay?.stop();
  await senderMx.stop();
});

const send = (from: string, to: string[], body: string) => relay.send(from, to, body);
const byRecipient = receivedBy;
const arrived = (sink: MailSink, rcpt: string) => relay.arrived(sink, rcpt);
/**
 * This test's own message for `rcpt`, by its subject: a recipient an earlier
 * test also wrote to already has a message, and waiting for "at least one"
 * would return that one while this test's is still in the queue.
 */
async function arrivedWith(sink: MailSink, rcpt: string, subject: string) {
  const mine = () => byRecipient(sink, rcpt).filter((m) => m.data.includes(`\r\nSubject: ${subject}\r\n`));
  while (!mine().length) await new Promise((r) => setTimeout(r, 20));
  return mine();
}
/**
 * Every recipient the queue holds is delivered, bounced or expired: whatever
 * a message was going to send has been sent. Redirects, vacation replies and
 * notifications are queued before the 250, so an absence checked after this
 * is an absence, on a machine of any speed (a fixed wait was not).
 */
async function settled(): Promise<void> {
  const queue = (running.services.store as QueueStore).queue;
  while (Object.keys(queue.depth()).length) await new Promise((r) => setTimeout(r, 20));
}

describe('smtp-cbv as a relay', () => {
  it('answers 250 with the queue id only after queuing, and relays with our Received: header', async () => {
    const r = await send('alice@sender.test', ['plain@dest.test'], 'From: alice@sender.test\r\nTo: plain@dest.test\r\nSubject: hi\r\n\r\nhello\r\n');
    expect(r.end?.code).toBe(250);
    expect(r.end?.text).toMatch(/queued as [0-9A-Z]{21}/);
    const [m] = await arrived(gateway, 'plain@dest.test');
    expect(m!.from).toBe('alice@sender.test');
    expect(m!.data).toMatch(/^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby relay\.test \(smtp-cbv\)/);
    expect(m!.data).toContain('\r\nSubject: hi\r\n');
  });

  it('relays a message spooled as it arrived (past message_spool_threshold) byte for byte, and its redirect copy too', async () => {
    // About 1 MiB: written to a spool file as it arrives, copied into the queue entry in chunks (docs/server.md, "Messages on disk").
    const body = Array.from({ length: 15_000 }, (_, i) => `line ${i} ${'z'.repeat(i % 70)}`).join('\r\n');
    const text = `From: alice@sender.test\r\nTo: bob@dest.test\r\nSubject: large\r\n\r\n${body}\r\n`;
    expect((await send('alice@sender.test', ['bob@dest.test'], text)).end?.code).toBe(250);
    const large = async (rcpt: string) => {
      while (!byRecipient(gateway, rcpt).some((m) => m.data.includes('Subject: large'))) await new Promise((r) => setTimeout(r, 20));
      return byRecipient(gateway, rcpt).find((m) => m.data.includes('Subject: large'))!.data;
    };
    expect((await large('bob@dest.test')).endsWith(`\r\n${text}`)).toBe(true);
    expect((await large('carol@elsewhere.test')).endsWith(`\r\n${text}`)).toBe(true);
  });

  it('sends a redirect :copy as a composed message beside the original', async () => {
    await send('alice@sender.test', ['bob@dest.test'], 'From: alice@sender.test\r\nTo: bob@dest.test\r\nSubject: fwd\r\n\r\nbody\r\n');
    const [copy] = await arrivedWith(gateway, 'carol@elsewhere.test', 'fwd');
    expect(copy!.from).toBe('alice@sender.test');
    expect(copy!.data).toMatch(/^X-Sieve-Redirected-From: bob@dest\.test\r\nReceived: /);
    expect(await arrivedWith(gateway, 'bob@dest.test', 'fwd')).toHaveLength(1);
  });

  it('sends an ec_redirect without keeping the original, and never redirects a message it redirected before', async () => {
    await send('alice@sender.test', ['dave@dest.test'], 'From: alice@sender.test\r\nTo: dave@dest.test\r\nSubject: fwd\r\n\r\nbody\r\n');
    const [copy] = await arrived(gateway, 'erin@elsewhere.test');
    expect(copy!.data).toContain('X-Sieve-Redirected-From: dave@dest.test');
    expect(byRecipient(gateway, 'dave@dest.test')).toHaveLength(0);
    // The same message coming back to dave: the loop guard keeps it from going out again.
    await settled();
    const before = gateway.messages.length;
    const r = await send('alice@sender.test', ['dave@dest.test'], copy!.data.replace(/^Received:[^]*?\r\n(?=\S)/m, ''));
    expect(r.end?.code).toBe(250);
    await settled();
    expect(gateway.messages.length).toBe(before);
  });

  it('sends a vacation reply from the null sender to the sender, as composed (RFC 5230)', async () => {
    await send('alice@sender.test', ['away@dest.test'], 'From: Alice <alice@sender.test>\r\nTo: away@dest.test\r\nSubject: lunch?\r\nMessage-ID: <q1@sender.test>\r\n\r\nlunch?\r\n');
    const [reply] = await arrived(senderMx, 'alice@sender.test');
    expect(reply!.from).toBe('');
    expect(reply!.data).toContain('Subject: Out of office');
    expect(reply!.data).toContain('In-Reply-To: <q1@sender.test>');
    expect(reply!.data).toContain('Auto-Submitted: auto-replied (vacation)');
    expect(reply!.data).toMatch(/^Date: .*\r\nMessage-ID: <[0-9a-f]+\.vacation@relay\.test>\r\n/);
    expect(reply!.data).toContain('I am away until Monday.');
    expect(await arrived(gateway, 'away@dest.test')).toHaveLength(1);
  });

  it('replies to a sender once per :days period (RFC 5230 4.2)', async () => {
    await arrived(senderMx, 'alice@sender.test');
    await settled();
    const before = senderMx.messages.length;
    await send('alice@sender.test', ['away@dest.test'], 'From: alice@sender.test\r\nTo: away@dest.test\r\nSubject: again\r\n\r\nx\r\n');
    await settled();
    expect(senderMx.messages.length).toBe(before);
  });

  it('sends no vacation reply to mail that is itself automatic', async () => {
    await settled();
    const before = senderMx.messages.length;
    await send('zed@sender.test', ['away@dest.test'], 'From: zed@sender.test\r\nTo: away@dest.test\r\nAuto-Submitted: auto-generated\r\nSubject: robot\r\n\r\nx\r\n');
    await settled();
    expect(senderMx.messages.length).toBe(before);
  });

  it('replies to another sender who writes a plain message', async () => {
    await send('yan@sender.test', ['away@dest.test'], 'From: yan@sender.test\r\nTo: away@dest.test\r\nSubject: hello\r\n\r\nx\r\n');
    expect(await arrived(senderMx, 'yan@sender.test')).toHaveLength(1);
  });
});

describe('reload', () => {
  it('keeps the queue and its store across SIGHUP reloads', async () => {
    const store = running.services.store;
    expect(await running.reload()).toEqual([]);
    expect(running.services.store).toBe(store);
    await send('alice@sender.test', ['after-reload@dest.test'], 'From: alice@sender.test\r\nTo: after-reload@dest.test\r\nSubject: r\r\n\r\nx\r\n');
    expect(await arrived(gateway, 'after-reload@dest.test')).toHaveLength(1);
  });
});
