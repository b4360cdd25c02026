/**
 * The delivery queue against real next hops on loopback (smtp-server as
 * SMTP and LMTP sinks): delivery, retries, per-recipient results, bounces
 * read back field by field, expiry, restart.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDsn } from '../helpers/dsn-parse.js';
import { type MailSink, startMailSink } from '../helpers/mail-sink.js';
import { appendCommand } from '../../src/delivery/queue-commands.js';
import { configFor, events, message, openQueue, type QueueFixture, until } from '../helpers/queue-fixture.js';

const FAST = 'Retry_Interval = 0.2\nMax_Retry_Interval = 0.4\nretry_jitter = 0\nConnect_Timeout = 2\nDelivery_Response_Timeout = 5\n';

let fx: QueueFixture | undefined;
const sinks: MailSink[] = [];
async function sink(o: Parameters<typeof startMailSink>[0] = {}) {
  const s = await startMailSink(o);
  sinks.push(s);
  return s;
}
afterEach(async () => {
  await fx?.close();
  fx = undefined;
  for (const s of sinks.splice(0)) await s.stop();
});

const entriesOnDisk = async (f: QueueFixture) => (await readdir(join(f.dir, 'queue', 'entries'))).length;

describe('delivery queue: SMTP gateway', () => {
  it('relays a message to the gateway and forgets it once delivered', async () => {
    const next = await sink();
    fx = await openQueue(`${FAST}Gateway = "127.0.0.1:${next.port}"`);
    const [id] = await fx.queue.add([message('alice@sender.test', ['bob@dest.test', 'carol@dest.test'])]);
    const [m] = await next.waitFor(1);
    expect(m!.from).toBe('alice@sender.test');
    expect(m!.to).toEqual(['bob@dest.test', 'carol@dest.test']);
    expect(m!.data).toContain('Subject: test');
    await until(async () => (await entriesOnDisk(fx!)) === 0);
    const finals = events(fx.logs, 'delivery.final');
    expect(finals.map((l) => [l.queue, l.recipient, l.state, l.hop])).toEqual([
      [id, 'bob@dest.test', 'delivered', `[127.0.0.1]:${next.port}`],
      [id, 'carol@dest.test', 'delivered', `[127.0.0.1]:${next.port}`],
    ]);
    expect(events(fx.logs, 'delivery.attempt')[0]).toMatchObject({ queue: id, outcome: 'delivered', attempt: 1 });
  });

  it('defers while the next hop is down and delivers once when it is back', async () => {
    const next = await sink();
    await next.stop();
    fx = await openQueue(`${FAST}Gateway = "127.0.0.1:${next.port}"`);
    await fx.queue.add([message('alice@sender.test', ['bob@dest.test'])]);
    await until(() => events(fx!.logs, 'delivery.attempt').length >= 2);
    expect(events(fx.logs, 'delivery.attempt').every((l) => l.outcome === 'deferred')).toBe(true);
    expect((await fx.queue.snapshot())[0]!.recipients[0]!.state).toMatch(/deferred|delivering/);
    await next.start();
    await next.waitFor(1);
    await until(async () => (await entriesOnDisk(fx!)) === 0);
    await new Promise((r) => setTimeout(r, 600));
    expect(next.messages).toHaveLength(1);
    expect(events(fx.logs, 'delivery.final')).toHaveLength(1);
  });

  it('retries only the recipient that got a 4xx', async () => {
    let refuse = true;
    const next = await sink({ rcpt: (a) => (a === 'slow@dest.test' && refuse ? [451, '4.2.1 mailbox busy'] : undefined) });
    fx = await openQueue(`${FAST}Gateway = "127.0.0.1:${next.port}"`);
    await fx.queue.add([message('alice@sender.test', ['slow@dest.test', 'fast@dest.test'])]);
    await next.waitFor(1);
    expect(next.messages[0]!.to).toEqual(['fast@dest.test']);
    await until(() => events(fx!.logs, 'delivery.attempt').some((l) => l.recipient === 'slow@dest.test' && l.outcome === 'deferred'));
    const deferred = events(fx.logs, 'delivery.attempt').find((l) => l.recipient === 'slow@dest.test')!;
    expect(deferred.reply).toBe('451 4.2.1 mailbox busy');
    refuse = false;
    await next.waitFor(2);
    expect(next.messages[1]!.to).toEqual(['slow@dest.test']);
    await until(async () => (await entriesOnDisk(fx!)) === 0);
    expect(next.rcpts.filter((r) => r === 'fast@dest.test')).toHaveLength(1);
  });

  it('bounces a 5xx to the sender with an RFC 3464 report, read back field by field', async () => {
    const next = await sink({ rcpt: (a) => (a === 'nobody@dest.test' ? [550, '5.1.1 <nobody@dest.test>: user unknown'] : undefined) });
    const senderMx = await sink();
    fx = await openQueue(`${FAST}Gateway = "127.0.0.1:${next.port}"\nDomain "sender.test" { Gateway = "127.0.0.1:${senderMx.port}" }`);
    const [id] = await fx.queue.add([message('alice@sender.test', ['nobody@dest.test', 'bob@dest.test'])]);
    const [bounce] = await senderMx.waitFor(1);
    expect(bounce!.from).toBe('');
    expect(bounce!.to).toEqual(['alice@sender.test']);
    const dsn = parseDsn(bounce!.data);
    expect(dsn.reportType).toBe('delivery-status');
    expect(dsn.headers.get('auto-submitted')).toBe('auto-replied');
    expect(dsn.parts.map((p) => p.type)).toEqual(['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    expect(dsn.perMessage.get('reporting-mta')).toBe('dns; relay.test');
    expect(dsn.perMessage.get('x-smtp-cbv-queue-id')).toBe(id);
    expect(dsn.recipients).toHaveLength(1);
    const r = dsn.recipients[0]!;
    expect(r.get('final-recipient')).toBe('rfc822; nobody@dest.test');
    expect(r.get('action')).toBe('failed');
    expect(r.get('status')).toBe('5.1.1');
    expect(r.get('remote-mta')).toBe('dns; 127.0.0.1');
    expect(r.get('diagnostic-code')).toBe('smtp; 550 5.1.1 <nobody@dest.test>: user unknown');
    expect(dsn.parts[2]!.body).toContain('Message-ID: <m1@sender.test>');
    expect(next.messages[0]!.to).toEqual(['bob@dest.test']);
    await until(async () => (await entriesOnDisk(fx!)) === 0);
  });

  it('never bounces mail from the null sender: it is dropped and logged', async () => {
    const next = await sink({ rcpt: () => [550, '5.1.1 no such user'] });
    fx = await openQueue(`${FAST}Gateway = "127.0.0.1:${next.port}"`);
    await fx.queue.add([message('', ['nobody@dest.test'], 'a bounce', 'bounce')]);
    await until(() => events(fx!.logs, 'delivery.dropped').length === 1);
    await until(async () => (await entriesOnDisk(fx!)) === 0);
    expect(events(fx.logs, 'delivery.bounce')).toHaveLength(0);
    expect(events(fx.logs, 'queue.add')).toHaveLength(1);
  });

  it('expires a recipient past Message_Expiration and bounces it', async () => {
    const next = await sink({ rcpt: () => [450, '4.2.0 try later'] });
    const senderMx = await sink();
    fx = await openQueue(`${FAST}Message_Expiration = 0.5\nGateway = "127.0.0.1:${next.port}"\nDomain "sender.test" { Gateway = "127.0.0.1:${senderMx.port}" }`);
    await fx.queue.add([message('alice@sender.test', ['bob@dest.test'])]);
    const [bounce] = await senderMx.waitFor(1);
    const r = parseDsn(bounce!.data).recipients[0]!;
    expect(r.get('action')).toBe('failed');
    expect(r.get('status')).toBe('4.2.0');
    expect(r.get('diagnostic-code')).toBe('smtp; 450 4.2.0 try later');
    const final = events(fx.logs, 'delivery.final').find((l) => l.recipient === 'bob@dest.test');
    expect(final?.state).toBe('expired');
    expect(events(fx.logs, 'delivery.attempt').filter((l) => l.recipient === 'bob@dest.test').every((l) => l.outcome === 'deferred')).toBe(true);
  });

  /** A message to a next hop that defers everything, with a BY deadline 0.6 s away; retries are a minute apart. */
  async function deferredWithDeadline(mode: 'return' | 'notify') {
    const next = await sink({ rcpt: () => [450, '4.2.0 try later'] });
    const senderMx = await sink();
    fx = await openQueue(`Retry_Interval = 60\nretry_jitter = 0\nConnect_Timeout = 2\nGateway = "127.0.0.1:${next.port}"\nDomain "sender.test" { Gateway = "127.0.0.1:${senderMx.port}" }`);
    await fx.queue.add([{ ...message('alice@sender.test', ['bob@dest.test']), deliverBy: { deadline: Date.now() + 600, mode, trace: false } }]);
    return senderMx;
  }

  it('returns a message at its BY deadline with mode R, well before Message_Expiration (RFC 2852)', async () => {
    const senderMx = await deferredWithDeadline('return');
    const [bounce] = await senderMx.waitFor(1);
    expect(parseDsn(bounce!.data).recipients[0]!.get('action')).toBe('failed');
    expect(events(fx!.logs, 'delivery.final').find((l) => l.recipient === 'bob@dest.test')?.state).toBe('expired');
    // Retry_Interval is a minute: only the deadline made the second (last) attempt happen.
    expect(events(fx!.logs, 'delivery.attempt').filter((l) => l.recipient === 'bob@dest.test')).toHaveLength(2);
  });

  it('tells the sender once when a BY deadline with mode N passes, and keeps trying (RFC 2852)', async () => {
    const senderMx = await deferredWithDeadline('notify');
    const [notice] = await senderMx.waitFor(1);
    const dsn = parseDsn(notice!.data);
    expect(dsn.recipients[0]!.get('action')).toBe('delayed');
    expect(dsn.recipients[0]!.get('status')).toBe('4.4.7');
    // Still being tried: deferred between attempts, delivering during one (retries come every 0.2-0.4 s here).
    const original = (await fx!.queue.snapshot()).find((e) => e.header.kind === 'message');
    expect(original?.recipients[0]?.state).toMatch(/^(deferred|delivering)$/);
    await new Promise((r) => setTimeout(r, 300));
    expect(senderMx.messages).toHaveLength(1);
  });

  it('sends a delay notice when asked to, once per interval', async () => {
    const next = await sink({ rcpt: () => [450, '4.2.0 try later'] });
    const senderMx = await sink();
    fx = await openQueue(`${FAST}Generate_Delay_DSN = true\nDelay_DSN_Retry_Interval = 0.3\nGateway = "127.0.0.1:${next.port}"\nDomain "sender.test" { Gateway = "127.0.0.1:${senderMx.port}" }`);
    await fx.queue.add([message('alice@sender.test', ['bob@dest.test'])]);
    const [notice] = await senderMx.waitFor(1);
    const dsn = parseDsn(notice!.data);
    expect(dsn.recipients[0]!.get('action')).toBe('delayed');
    expect(dsn.recipients[0]!.get('status')).toBe('4.2.0');
    expect(dsn.recipients[0]!.get('will-retry-until')).toMatch(/\d{4} \d\d:\d\d:\d\d \+0000$/);
    expect(dsn.headers.get('subject')).toMatch(/Delayed/);
  });

  it('sends a retry from the entry file as it reads it, byte for byte: lines led by a dot, a body of many chunks', async () => {
    const next = await sink();
    await next.stop();
    fx = await openQueue(`${FAST}Gateway = "127.0.0.1:${next.port}"`);
    // About 1 MiB over many 64 KiB reads; every 100th line starts with a dot, which the wire doubles (RFC 5321 4.5.2).
    const body = Array.from({ length: 12_000 }, (_, i) => `${i % 100 === 0 ? '.' : ''}line ${i} ${'y'.repeat(i % 80)}`).join('\r\n');
    const queued = message('alice@sender.test', ['bob@dest.test'], body);
    await fx.queue.add([queued]);
    await until(() => events(fx!.logs, 'delivery.attempt').length >= 1);
    await next.start();
    const [m] = await next.waitFor(1);
    expect(Buffer.from(m!.data, 'latin1').equals(queued.message as Buffer)).toBe(true);
  });

  it('picks the queue up again after a restart', async () => {
    const next = await sink();
    await next.stop();
    fx = await openQueue(`Retry_Interval = 60\nretry_jitter = 0\nConnect_Timeout = 2\nGateway = "127.0.0.1:${next.port}"`);
    const [id] = await fx.queue.add([message('alice@sender.test', ['bob@dest.test'])]);
    await until(() => events(fx!.logs, 'delivery.attempt').length === 1);
    await next.start();
    await fx.reopen();
    // Deferred for a minute: the restart keeps the schedule, so nothing is sent yet.
    await new Promise((r) => setTimeout(r, 300));
    expect(next.messages).toHaveLength(0);
    const state = (await fx.queue.snapshot())[0]!;
    expect(state.header.id).toBe(id);
    expect(state.recipients[0]).toMatchObject({ state: 'deferred', attempts: 1 });
    // The operator flushes (as `smtp-cbv queue flush` does): the running queue picks it up.
    await appendCommand(fx.queue.files, id!, 'flush');
    await next.waitFor(1);
    await until(async () => (await entriesOnDisk(fx!)) === 0);
  });
});

describe('delivery queue: parked entries', () => {
  it('parks an entry that waits for a later retry (its state leaves memory) and reads it back when an operator flushes it', async () => {
    const next = await sink();
    await next.stop();
    fx = await openQueue(`Retry_Interval = 60\nretry_jitter = 0\nConnect_Timeout = 2\nGateway = "127.0.0.1:${next.port}"`);
    const [id] = await fx.queue.add([message('alice@sender.test', ['bob@dest.test', 'carol@dest.test'])]);
    await until(() => fx!.queue.residency().parked === 1);
    expect(fx.queue.residency()).toEqual({ inMemory: 0, parked: 1 });
    expect(fx.queue.depth()).toEqual({ deferred: 2 });
    expect((await fx.queue.snapshot())[0]!.recipients.map((r) => [r.state, r.attempts])).toEqual([['deferred', 1], ['deferred', 1]]);
    await next.start();
    await appendCommand(fx.queue.files, id!, 'flush');
    const [m] = await next.waitFor(1);
    expect(m!.to).toEqual(['bob@dest.test', 'carol@dest.test']);
    await until(async () => (await entriesOnDisk(fx!)) === 0);
    expect(fx.queue.residency()).toEqual({ inMemory: 0, parked: 0 });
  });

  it('wakes a parked entry when its retry is due', async () => {
    const next = await sink();
    await next.stop();
    fx = await openQueue(`Retry_Interval = 0.5\nretry_jitter = 0\nConnect_Timeout = 2\nGateway = "127.0.0.1:${next.port}"`);
    await fx.queue.add([message('alice@sender.test', ['bob@dest.test'])]);
    await until(() => fx!.queue.residency().parked === 1);
    await next.start();
    await next.waitFor(1);
    await until(async () => (await entriesOnDisk(fx!)) === 0);
    expect(events(fx.logs, 'delivery.attempt').map((l) => [l.outcome, l.attempt])).toEqual([['deferred', 1], ['delivered', 2]]);
  });

  it('an operator delete removes a parked entry, without a bounce', async () => {
    const next = await sink();
    await next.stop();
    const senderMx = await sink();
    fx = await openQueue(`Retry_Interval = 60\nretry_jitter = 0\nConnect_Timeout = 2\nGateway = "127.0.0.1:${next.port}"\nDomain "sender.test" { Gateway = "127.0.0.1:${senderMx.port}" }`);
    const [id] = await fx.queue.add([message('alice@sender.test', ['bob@dest.test'])]);
    await until(() => fx!.queue.residency().parked === 1);
    await appendCommand(fx.queue.files, id!, 'delete');
    await until(async () => (await entriesOnDisk(fx!)) === 0);
    expect(fx.queue.residency()).toEqual({ inMemory: 0, parked: 0 });
    await new Promise((r) => setTimeout(r, 200));
    expect(senderMx.messages).toEqual([]);
  });
});

describe('delivery queue: LMTP', () => {
  it('takes one reply per recipient after the message (RFC 2033)', async () => {
    const lmtp = await sink({ lmtp: true, data: (a) => (a === 'full@dest.test' ? [552, '5.2.2 mailbox full'] : a === 'later@dest.test' ? [452, '4.2.2 over quota for now'] : undefined) });
    fx = await openQueue(`${FAST}Gateway = "127.0.0.1:${lmtp.port}"\nDelivery_Method = LMTP`);
    await fx.queue.add([message('', ['ok@dest.test', 'full@dest.test', 'later@dest.test'], 'x', 'bounce')]);
    await until(() => events(fx!.logs, 'delivery.attempt').length >= 3);
    const first = events(fx.logs, 'delivery.attempt').slice(0, 3);
    expect(first.map((l) => [l.recipient, l.outcome, l.reply])).toEqual([
      ['ok@dest.test', 'delivered', expect.stringMatching(/^250 /)],
      ['full@dest.test', 'failed', '552 5.2.2 mailbox full'],
      ['later@dest.test', 'deferred', '452 4.2.2 over quota for now'],
    ]);
    expect(lmtp.messages[0]!.to).toEqual(['ok@dest.test']);
  });
});

describe('delivery queue: TLS', () => {
  it('uses STARTTLS when the next hop offers it', async () => {
    const next = await sink({ startTls: true });
    fx = await openQueue(`${FAST}Gateway = "127.0.0.1:${next.port}"`);
    await fx.queue.add([message('alice@sender.test', ['bob@dest.test'])]);
    const [m] = await next.waitFor(1);
    expect(m!.secure).toBe(true);
  });

  it('defers rather than send in clear when TLS is required and not offered', async () => {
    const next = await sink();
    fx = await openQueue(`${FAST}Gateway = "127.0.0.1:${next.port}"\nTLS = required`);
    await fx.queue.add([message('alice@sender.test', ['bob@dest.test'])]);
    await until(() => events(fx!.logs, 'delivery.attempt').length >= 1);
    const a = events(fx.logs, 'delivery.attempt')[0]!;
    expect(a.outcome).toBe('deferred');
    expect(a.reply).toMatch(/^451 4\.7\.5 TLS is required/);
    expect(next.messages).toHaveLength(0);
  });
});

describe('delivery queue: local route', () => {
  it('delivers into the Maildir spool with the chosen folders', async () => {
    fx = await openQueue('Delivery_Method = maildir');
    const m = message('alice@sender.test', ['bob@here.test']);
    m.recipients[0]!.folders = ['INBOX', 'Lists'];
    await fx.queue.add([m]);
    await until(async () => (await entriesOnDisk(fx!)) === 0);
    expect(await readdir(join(fx.dir, 'spool', 'new'))).toHaveLength(1);
    expect(await readdir(join(fx.dir, 'spool', '.Lists', 'new'))).toHaveLength(1);
  });
});

describe('delivery queue: concurrency', () => {
  it('keeps at most Max_Outbound_Connections deliveries in flight to one destination', async () => {
    const next = await sink({ delayMs: 50 });
    fx = await openQueue(`${FAST}Gateway = "127.0.0.1:${next.port}"\nMax_Outbound_Connections = 2`);
    await fx.queue.add(Array.from({ length: 8 }, (_, i) => message('alice@sender.test', [`u${i}@dest.test`])));
    await next.waitFor(8);
    expect(next.peak).toBe(2);
  });

  it('keeps at most Server_Max_Outbound_Connections deliveries in flight to all destinations together', async () => {
    const inFlight = { now: 0, peak: 0 };
    const hops = [await sink({ delayMs: 300, inFlight }), await sink({ delayMs: 300, inFlight }), await sink({ delayMs: 300, inFlight })];
    const domains = hops.map((h, i) => `Domain "d${i}.test" { Gateway = "127.0.0.1:${h.port}" }`).join('\n');
    fx = await openQueue(`${FAST}Max_Outbound_Connections = 3\nServer_Max_Outbound_Connections = 4\n${domains}`);
    // Three destinations that could take 3 each: 9 at once without the server-wide limit.
    await fx.queue.add(hops.flatMap((_, d) => Array.from({ length: 5 }, (_, i) => message('alice@sender.test', [`u${i}@d${d}.test`]))));
    for (const h of hops) await h.waitFor(5);
    expect(inFlight.peak).toBeLessThanOrEqual(4);
    expect(inFlight.peak).toBeGreaterThanOrEqual(3);
  });

  it('keeps its share of Server_Max_Outbound_Connections when it is one of several workers', async () => {
    const inFlight = { now: 0, peak: 0 };
    const hops = [await sink({ delayMs: 300, inFlight }), await sink({ delayMs: 300, inFlight })];
    const domains = hops.map((h, i) => `Domain "d${i}.test" { Gateway = "127.0.0.1:${h.port}" }`).join('\n');
    fx = await openQueue(`${FAST}Max_Outbound_Connections = 3\nServer_Max_Outbound_Connections = 4\n${domains}`, { slot: 1, workers: 2 });
    await fx.queue.add(hops.flatMap((_, d) => Array.from({ length: 4 }, (_, i) => message('alice@sender.test', [`u${i}@d${d}.test`]))));
    for (const h of hops) await h.waitFor(4);
    // Half of the 4 for each of two workers (3 would go at once to each destination alone).
    expect(inFlight.peak).toBe(2);
  });
});

describe('delivery queue: connections', () => {
  it('keeps a connection open for the next message to the same host, and opens a new one when the host dropped it', async () => {
    const next = await sink();
    fx = await openQueue(`${FAST}Gateway = "127.0.0.1:${next.port}"`);
    for (let i = 1; i <= 3; i++) {
      await fx.queue.add([message('alice@sender.test', [`u${i}@dest.test`])]);
      await next.waitFor(i);
    }
    expect(next.connections).toBe(1);
    // The next hop goes away and comes back: the kept connection is dead, the message still goes.
    await next.stop();
    await next.start();
    await fx.queue.add([message('alice@sender.test', ['u4@dest.test'])]);
    await next.waitFor(4);
    expect(next.connections).toBe(2);
    expect(events(fx.logs, 'delivery.attempt').every((l) => l.outcome === 'delivered')).toBe(true);
  });
});

describe('delivery queue: reload', () => {
  it('takes new routes from a reload and keeps its entries', async () => {
    const first = await sink();
    const second = await sink();
    await first.stop();
    fx = await openQueue(`Retry_Interval = 60\nretry_jitter = 0\nConnect_Timeout = 2\nGateway = "127.0.0.1:${first.port}"`);
    const [id] = await fx.queue.add([message('alice@sender.test', ['bob@dest.test'])]);
    await until(() => events(fx!.logs, 'delivery.attempt').length === 1);
    fx.queue.reconfigure(configFor(`Retry_Interval = 60\nGateway = "127.0.0.1:${second.port}"`, fx.dir).delivery);
    await appendCommand(fx.queue.files, id!, 'flush');
    const [m] = await second.waitFor(1);
    expect(m!.to).toEqual(['bob@dest.test']);
  });
});

describe('delivery queue: addresses the wire cannot carry', () => {
  it('bounces at once instead of retrying', async () => {
    const next = await sink();
    const senderMx = await sink();
    fx = await openQueue(`${FAST}Gateway = "127.0.0.1:${next.port}"\nDomain "sender.test" { Gateway = "127.0.0.1:${senderMx.port}" }`);
    await fx.queue.add([message('alice@sender.test', ['bad>addr@dest.test'])]);
    const [report] = await senderMx.waitFor(1);
    expect(parseDsn(report!.data).recipients[0]!.get('status')).toBe('5.1.3');
    expect(events(fx.logs, 'delivery.attempt').filter((l) => l.recipient === 'bad>addr@dest.test')).toHaveLength(1);
  });
});

describe('delivery queue: damaged files', () => {
  it('starts with an unreadable entry left in place and logged, and removes unfinished writes', async () => {
    const next = await sink();
    fx = await openQueue(`${FAST}Gateway = "127.0.0.1:${next.port}"`);
    await fx.queue.stop();
    const entries = join(fx.dir, 'queue', 'entries');
    await writeFile(join(entries, '0MX000000000000000000'), 'not a queue entry');
    await writeFile(join(entries, '0MX000000000000000001.tmp'), 'half written');
    await fx.reopen();
    expect(events(fx.logs, 'queue.unreadable').map((l) => l.queue)).toEqual(['0MX000000000000000000']);
    expect((await readdir(entries)).sort()).toEqual(['0MX000000000000000000']);
    await fx.queue.add([message('alice@sender.test', ['bob@dest.test'])]);
    await next.waitFor(1);
  });
});
