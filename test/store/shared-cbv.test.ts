/**
 * Two CBV engines, each with its own Redis connections as two processes
 * have, sharing one real redis-server: one probe per address between them,
 * one per-domain rate between them, one cache; and what happens when Redis
 * dies and comes back (docs/operations.md, "Failure modes").
 */
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CbvEngine } from '../../src/cbv/index.js';
import { MemoryStore } from '../../src/cbv/cache.js';
import { LocalConnections, RedisConnections } from '../../src/store/connections.js';
import { SharedCounterStore } from '../../src/store/counter-store.js';
import { RedisFlights } from '../../src/store/redis-flights.js';
import { RedisLimits } from '../../src/store/redis-limits.js';
import { RedisLink } from '../../src/store/redis-link.js';
import { SharedCbvStore } from '../../src/store/shared-cbv-store.js';
import { oneMx, testEngine } from '../helpers/cbv-fixture.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { NO_REDIS, TestRedis } from '../helpers/redis-server.js';
import { type SmtpRemote, startSmtpRemote } from '../helpers/smtp-remote.js';

const silent = pino({ level: 'silent' });
let redis: TestRedis;
let dns: TestDnsServer;
let remote: SmtpRemote;
const links: RedisLink[] = [];
let prefixN = 0;

beforeAll(async () => {
  if (NO_REDIS) return;
  redis = await TestRedis.start();
  dns = await startDnsServer({ ...oneMx('example.test'), ...oneMx('forged.test') });
  // RCPT answers slowly, so that concurrent checks really overlap the probe.
  remote = await startSmtpRemote({ rcpt: (a) => (a.startsWith('nobody') ? { code: 550, message: '5.1.1 no such user', delayMs: 200 } : { code: 250, message: 'ok', delayMs: 200 }) });
});
afterAll(async () => {
  await remote?.close();
  await dns?.close();
  await redis?.stop();
});
afterEach(async () => {
  while (links.length) await links.pop()!.close();
  remote.connections = 0;
  remote.log.length = 0;
});

/** One "process": its own Redis link, shared store, flights and limits, over a fresh key prefix per test. */
async function processEngine(prefix: string, extra: Parameters<typeof testEngine>[2] = {}): Promise<{ engine: CbvEngine; link: RedisLink }> {
  const link = new RedisLink({ url: redis.url, keyPrefix: prefix, commandTimeoutMs: 500, logger: silent });
  links.push(link);
  await link.settled(2000);
  const engine = testEngine(dns, remote.port, {
    store: new SharedCbvStore(link, new MemoryStore(1000)),
    flights: new RedisFlights(link, 50),
    sharedLimits: new RedisLimits(link),
    maxConcurrent: 10_000,
    ...extra,
  });
  return { engine, link };
}

async function twoProcesses(extra: Parameters<typeof testEngine>[2] = {}) {
  const prefix = `t${++prefixN}:`;
  return [await processEngine(prefix, extra), await processEngine(prefix, extra)] as const;
}

describe.skipIf(NO_REDIS)('CBV state shared through Redis (needs redis-server)', () => {
  it('1,000 concurrent identical checks over two processes make exactly one connection to the remote', async () => {
    const [a, b] = await twoProcesses();
    const checks = Array.from({ length: 1000 }, (_, i) => (i % 2 ? a : b).engine.verify('alice@example.test'));
    const verdicts = await Promise.all(checks);
    expect(remote.connections).toBe(1);
    expect(remote.log.filter((l) => l.startsWith('RCPT'))).toEqual(['RCPT <alice@example.test>']);
    expect(new Set(verdicts.map((v) => `${v.status}/${v.reason}`))).toEqual(new Set(['pass/accepted']));
    // One process probed; the other waited for it across Redis.
    expect(a.engine.stats.probes + b.engine.stats.probes).toBe(1);
    expect(a.engine.stats.joined + b.engine.stats.joined).toBe(999);
  });

  it('a verdict cached by one process answers the other', async () => {
    const [a, b] = await twoProcesses();
    const first = await a.engine.verify('nobody@example.test');
    expect(first).toMatchObject({ status: 'fail', reason: 'rejected', cached: false });
    const second = await b.engine.verify('nobody@example.test');
    expect(second).toMatchObject({ status: 'fail', reason: 'rejected', cached: true, reply: first.reply });
    expect(remote.connections).toBe(1);
    expect(b.engine.stats.probes).toBe(0);
  });

  it('a forged-sender flood over two processes stays within one per-domain rate', async () => {
    const [a, b] = await twoProcesses({ ratePerDomain: 5, rateWindow: 60, maxConcurrentPerDomain: 100 });
    const flood = Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).engine.verify(`forged${i}@forged.test`));
    const verdicts = await Promise.all(flood);
    expect(verdicts.filter((v) => v.reason === 'rate-limited')).toHaveLength(195);
    expect(remote.connections).toBe(5);
    expect(a.engine.stats.probes + b.engine.stats.probes).toBe(5);
  });

  it('per-domain concurrency is counted across processes', async () => {
    const [a, b] = await twoProcesses({ maxConcurrentPerDomain: 2, ratePerDomain: 1000 });
    const burst = Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).engine.verify(`user${i}@forged.test`));
    const verdicts = await Promise.all(burst);
    expect(verdicts.filter((v) => v.reason !== 'rate-limited')).toHaveLength(2);
    expect(remote.connections).toBe(2);
  });

  it('Redis killed mid-run: checks go on from local state; after it returns the shared state is used again', async () => {
    const [a, b] = await twoProcesses();
    expect((await a.engine.verify('alice@example.test')).cached).toBe(false);
    expect((await b.engine.verify('alice@example.test')).cached).toBe(true);

    await redis.kill();
    // Both keep answering: a from its local copy, b by probing itself (it never stored one).
    const during = await Promise.all([a.engine.verify('alice@example.test'), b.engine.verify('bob@example.test'), a.engine.verify('nobody@example.test')]);
    expect(during.map((v) => v.reason)).toEqual(['accepted', 'accepted', 'rejected']);
    expect(during[0]!.cached).toBe(true);
    expect(a.link.up).toBe(false);

    await redis.resume();
    for (let i = 0; i < 60 && !(a.link.up && b.link.up); i++) await new Promise((r) => setTimeout(r, 100));
    expect(a.link.up && b.link.up).toBe(true);
    const before = remote.connections;
    expect((await a.engine.verify('carol@example.test')).cached).toBe(false);
    expect((await b.engine.verify('carol@example.test')).cached).toBe(true);
    expect(remote.connections).toBe(before + 1);
  });
});

describe.skipIf(NO_REDIS)('shared single flight and leases (needs redis-server)', () => {
  async function link(prefix: string) {
    const l = new RedisLink({ url: redis.url, keyPrefix: prefix, commandTimeoutMs: 500, logger: silent });
    links.push(l);
    await l.settled(2000);
    return l;
  }

  it('a waiter whose owner vanished asks again and owns the flight itself', async () => {
    const l = await link(`f${++prefixN}:`);
    const flights = new RedisFlights(l, 20);
    const owner = await flights.join('k', { lockTtlMs: 150, waitMs: 2000 });
    expect(owner.role).toBe('owner');
    const waiter = await flights.join('k', { lockTtlMs: 150, waitMs: 2000 });
    expect(waiter.role).toBe('waiter');
    // The owner never says done (a crashed process): its lock lapses.
    expect(await (waiter as Extract<typeof waiter, { role: 'waiter' }>).result).toEqual({ kind: 'retry' });
    expect((await flights.join('k', { lockTtlMs: 1000, waitMs: 2000 })).role).toBe('owner');
  });

  it('a concurrency lease whose holder never gives it back lapses', async () => {
    const l = await link(`l${++prefixN}:`);
    const limits = new RedisLimits(l);
    const opts = { maxConcurrentPerDomain: 1, ratePerDomain: 100, rateWindowMs: 60_000, leaseTtlMs: 200 };
    expect((await limits.tryAcquire('x.test', opts))?.ok).toBe(true);
    expect(await limits.tryAcquire('x.test', opts)).toEqual({ ok: false, why: 'domain-concurrency' });
    await new Promise((r) => setTimeout(r, 300));
    const again = await limits.tryAcquire('x.test', opts);
    expect(again?.ok).toBe(true);
  });

  it('a slow Redis counts as down after a few timeouts (logged once) and as up when it answers again', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
    const l = new RedisLink({ url: redis.url, keyPrefix: `s${++prefixN}:`, commandTimeoutMs: 100, logger });
    links.push(l);
    await l.settled(2000);
    const admin = await link('admin:');
    await admin.client.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await l.attempt((c) => c.get('k')));
    expect(answers.map((a) => a.ok)).toEqual([false, false, false, false]);
    expect(l.up).toBe(false);
    for (let i = 0; i < 60 && !l.up; i++) await new Promise((r) => setTimeout(r, 100));
    expect(l.up).toBe(true);
    const changes = lines.map((x) => JSON.parse(x) as { event?: string }).filter((x) => x.event === 'redis.down' || x.event === 'redis.up').map((x) => x.event);
    expect(changes).toEqual(['redis.up', 'redis.down', 'redis.up']);
  });

  it('counts connections per IP across processes; a crashed process stops counting', async () => {
    const prefix = `c${++prefixN}:`;
    const [l1, l2] = [await link(prefix), await link(prefix)];
    // "one" stays alive for the whole test whatever the machine's load; "two" lapses 300 ms after its last heartbeat.
    const one = new RedisConnections(l1, 60_000);
    const two = new RedisConnections(l2, 300);
    expect(await one.open('192.0.2.1')).toBe(1);
    expect(await two.open('192.0.2.1')).toBe(2);
    expect(await two.open('192.0.2.9')).toBe(1);
    expect(await one.count('192.0.2.1')).toBe(2);
    expect(two.current('192.0.2.1')).toBe(2);
    one.close('192.0.2.1');
    expect(await two.count('192.0.2.1')).toBe(1);
    expect(await one.open('192.0.2.1')).toBe(2);
    // "two" crashes: its heartbeat stops, and its connections lapse with it.
    l2.client.disconnect();
    await new Promise((r) => setTimeout(r, 500));
    expect(await one.count('192.0.2.1')).toBe(1);
    await one.stop();
    await two.stop();
  });

  it('a block of connections: one address is every process\'s count, a wider block or one listener this process\'s own', async () => {
    const prefix = `b${++prefixN}:`;
    const [one, two] = [new RedisConnections(await link(prefix), 60_000), new RedisConnections(await link(prefix), 60_000)];
    await one.open('192.0.2.1', 'L1');
    await two.open('192.0.2.1', 'L2');
    await two.open('192.0.2.9', 'L2');
    expect([await one.inBlock('192.0.2.1', 32), await two.inBlock('192.0.2.1', 32)]).toEqual([2, 2]);
    // Redis keeps one count per address: a /24 and a listener are what each process holds.
    expect([await one.inBlock('192.0.2.0', 24), await two.inBlock('192.0.2.0', 24), await two.inBlock('192.0.2.1', 32, 'L2'), await one.inBlock('192.0.2.1', 32, 'L2')]).toEqual([1, 2, 1, 0]);
    await one.stop();
    await two.stop();
  });

  it('Sieve++ counters: what one process records the other counts, over a CIDR block and a range of windows', async () => {
    const prefix = `k${++prefixN}:`;
    const [one, two] = [new SharedCounterStore(await link(prefix)), new SharedCounterStore(await link(prefix))];
    const now = 1_000_000_000_000;
    await one.add('connections', '192.0.2.1', 1, now);
    await two.add('connections', '192.0.2.7', 2, now);
    await two.add('connections', '198.51.100.1', 5, now);
    await one.add('connections', '192.0.2.1', 4, now - 400_000);
    const q = { series: 'connections', monitor: { window: 300, windows: 6 }, ip: '192.0.2.0', mask: 24, now };
    expect(await one.count({ ...q, periodStart: 0, periodEnd: 0 })).toBe(3);
    expect(await two.count({ ...q, periodStart: 0, periodEnd: 5 })).toBe(7);
    expect(await two.count({ ...q, ip: '192.0.2.7', mask: 32, periodStart: 0, periodEnd: 5 })).toBe(2);
  });

  it('counts connections locally without Redis', async () => {
    const c = new LocalConnections();
    expect(await c.open('192.0.2.1')).toBe(1);
    expect(await c.open('192.0.2.1')).toBe(2);
    expect(c.current('192.0.2.1')).toBe(2);
    c.close('192.0.2.1');
    c.close('192.0.2.1');
    c.close('192.0.2.1');
    expect(await c.count('192.0.2.1')).toBe(0);
  });

  it('answers "unavailable" at once when Redis cannot be reached', async () => {
    const l = new RedisLink({ url: 'redis://127.0.0.1:1', keyPrefix: 'x:', commandTimeoutMs: 200, logger: silent });
    links.push(l);
    expect(await l.settled(2000)).toBe(false);
    expect((await new RedisFlights(l).join('k', { lockTtlMs: 1000, waitMs: 1000 })).role).toBe('unavailable');
    expect(await new RedisLimits(l).tryAcquire('x.test', { maxConcurrentPerDomain: 1, ratePerDomain: 1, rateWindowMs: 1000, leaseTtlMs: 1000 })).toBeUndefined();
  });
});
