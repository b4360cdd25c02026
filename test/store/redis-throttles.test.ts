/**
 * Shared throttles (ec_shared_throttle_*, src/store/redis-throttles.ts)
 * against a real redis-server: two stores, each with its own connection as
 * two smtp-cbv servers have, count in one throttle and share its tarpit
 * places; the key expires with its windows; Redis unreachable, each server
 * counts on its own and says so; and without Redis, the server's own store
 * (the primary's for workers) keeps them apart from the ec_throttle ones.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NamedThrottles } from '../../src/sievepp/throttles.js';
import { ClusterThrottles } from '../../src/store/cluster-throttles.js';
import { createSharedState } from '../../src/store/index.js';
import { primaryState } from '../../src/store/primary-state.js';
import { RedisLink } from '../../src/store/redis-link.js';
import { RedisThrottles } from '../../src/store/redis-throttles.js';
import { freePort } from '../helpers/free-port.js';
import { linkToPrimary } from '../helpers/primary-link.js';
import { expectOneCount, windowTally } from '../helpers/throttle-stores.js';
import { configFor } from '../helpers/queue-fixture.js';
import { NO_REDIS, TestRedis } from '../helpers/redis-server.js';

const silent = pino({ level: 'silent' });
let redis: TestRedis;
const links: RedisLink[] = [];
let prefixN = 0;

beforeAll(async () => {
  if (!NO_REDIS) redis = await TestRedis.start();
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  while (links.length) await links.pop()!.close();
});

async function connect(url: string, prefix: string, logger = silent): Promise<RedisLink> {
  const link = new RedisLink({ url, keyPrefix: prefix, commandTimeoutMs: 500, logger });
  links.push(link);
  await link.settled(2000);
  return link;
}

/** Two "servers" over one Redis, each with its own link and its own fallback store, under a fresh key prefix. */
async function twoServers() {
  const prefix = `thr${++prefixN}:`;
  const [la, lb] = [await connect(redis.url, prefix), await connect(redis.url, prefix)];
  return { a: new RedisThrottles(la, new NamedThrottles()), b: new RedisThrottles(lb, new NamedThrottles()), link: la, prefix };
}

const rate = (messages: number, seconds: number) => ({ messages, seconds });

describe.skipIf(NO_REDIS)('shared throttles in Redis (skipped: redis-server is not installed)', () => {
  it('counts both servers’ messages in one throttle; a second create changes nothing', async () => {
    const { a, b } = await twoServers();
    await expectOneCount(a, b);
  });

  it('gives tarpit places across servers: the first later window with room, whichever server asks', async () => {
    const { a, b } = await twoServers();
    a.create('tp', rate(2, 1), 0);
    b.create('tp', rate(2, 1), 0);
    const waits = [];
    for (const s of [a, b, a, b, a]) waits.push(await s.tarpit('tp', 100));
    expect(waits).toEqual([0, 0, 900, 900, 1900]);
    expect(await b.tarpit('tp', 1200)).toBe(800);
    expect(await a.tarpit('tp', 1200)).toBe(1800);
    // Concurrent asks from both: one atomic script each, so no place is given twice.
    a.create('race', rate(3, 1), 0);
    // Each server's commands keep their order on its own connection, not across the two: b asks once a's create is in.
    await a.exceeded('race', 0);
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).tarpit('race', 0)));
    expect(all.sort((x, y) => x! - y!)).toEqual([0, 0, 0, 1000, 1000, 1000, 2000, 2000, 2000, 3000, 3000, 3000]);
  });

  it('moves to a new window, and the key expires when the throttle would be dropped: its last tarpit window ended, unused an interval and a second', async () => {
    const { a, b, link, prefix } = await twoServers();
    const t0 = Date.now();
    a.create('w', rate(1, 1), t0);
    await a.inc('w', t0);
    await b.inc('w', t0);
    expect(await b.exceeded('w', t0)).toBe(true);
    expect(await a.exceeded('w', t0 + 1000)).toBe(false);
    expect(await b.tarpit('w', t0 + 1000)).toBe(0);
    expect(await a.tarpit('w', t0 + 1000)).toBe(1000);
    expect(await a.tarpit('w', t0 + 1000)).toBe(2000);
    // Its last place is in the window that ends at t0 + 4000: the key lives until then.
    const ttl = await link.client.pttl(`${prefix}throttle:w`);
    expect(ttl).toBeGreaterThan(2500);
    expect(ttl).toBeLessThanOrEqual(3000);
    // A throttle with nothing counted lives its interval and a second.
    a.create('short', rate(5, 1), Date.now());
    expect(await link.client.pttl(`${prefix}throttle:short`)).toBeGreaterThan(1500);
    await new Promise((r) => setTimeout(r, 2200));
    expect(await link.client.exists(`${prefix}throttle:short`)).toBe(0);
    expect(await a.exceeded('short', Date.now())).toBeUndefined();
  });

  it('tarpitted messages keep to the rate across servers: no window is given more than X', async () => {
    const { a, b } = await twoServers();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 700 })), { minLength: 1, maxLength: 40 }), async (x, y, steps) => {
        const name = `p${++n}`;
        a.create(name, rate(x, y), 0);
        await a.exceeded(name, 0);
        const tally = windowTally(rate(x, y));
        let now = 0;
        for (const [onA, step] of steps) {
          now += step;
          tally.let(now, await (onA ? a : b).tarpit(name, now));
        }
        tally.expectWithinRate();
      }),
      { numRuns: 60 },
    );
  });

  it('answers from the server’s own count when Redis forgot a throttle it created (a restart or a flush)', async () => {
    const { a, link } = await twoServers();
    a.create('f', rate(1, 60), 0);
    await a.inc('f', 1);
    await link.client.flushdb();
    expect(await a.inc('f', 2)).toBe(true);
    expect(await a.exceeded('f', 3)).toBe(true);
  });
});

describe.skipIf(NO_REDIS)('shared throttles when Redis dies and returns (skipped: redis-server is not installed)', () => {
  it('each server counts alone while Redis is down, says so once an outage, and counts in Redis again when it is back', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
    const prefix = `thr${++prefixN}:`;
    const [la, lb] = [await connect(redis.url, prefix, logger), await connect(redis.url, prefix, logger)];
    const [a, b] = [new RedisThrottles(la, new NamedThrottles()), new RedisThrottles(lb, new NamedThrottles())];
    const warnings = () => lines.filter((l) => l.includes('"event":"shared_throttles.local"')).length;
    const until = async (ok: () => boolean) => {
      for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
    };
    for (const outage of [1, 2]) {
      // Each server's own count keeps what it counted while Redis was up too: a name of its own for each round.
      const o = `o${outage}`;
      await redis.kill();
      await until(() => !la.up && !lb.up);
      for (const s of [a, b]) s.create(o, rate(2, 60), 0);
      // Three between them, over the rate of 2; but each counts its own.
      expect([await a.inc(o, 1), await a.inc(o, 1), await b.inc(o, 1), await a.exceeded(o, 2), await b.exceeded(o, 2)]).toEqual([true, true, true, false, false]);
      expect(warnings()).toBe(2 * outage);
      await redis.resume();
      await until(() => la.up && lb.up);
      // A Redis without persistence comes back empty: the next create, as a script makes before each use, starts it again.
      for (const s of [a, b]) s.create(o, rate(2, 60), 10);
      await a.exceeded(o, 10);
      // b's own count is 2, not over; Redis's, 3.
      expect([await a.inc(o, 11), await a.inc(o, 11), await b.inc(o, 11), await b.exceeded(o, 12)]).toEqual([true, true, true, true]);
    }
  });
});

describe('shared throttles without a reachable Redis', () => {
  it('a configured Redis that cannot be reached: each server counts on its own, and says so once', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
    const link = new RedisLink({ url: `redis://127.0.0.1:${await freePort()}`, keyPrefix: 'x:', commandTimeoutMs: 200, logger });
    links.push(link);
    const t = new RedisThrottles(link, new NamedThrottles());
    await link.settled(2000);
    t.create('t', rate(1, 60), 0);
    expect(await t.inc('t', 1)).toBe(true);
    expect(await t.exceeded('t', 2)).toBe(false);
    expect(await t.tarpit('t', 3)).toBe(59_997);
    expect(await t.exceeded('t', 4)).toBe(false);
    expect(lines.filter((l) => l.includes('"event":"shared_throttles.local"'))).toHaveLength(1);
  });

  it('no Redis configured: one process keeps them itself, apart from its ec_throttle ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-shared-throttles-'));
    const shared = createSharedState(configFor('', dir), silent);
    try {
      expect(shared.sharedThrottles).toBeInstanceOf(NamedThrottles);
      shared.sharedThrottles.create('t', rate(1, 60), 0);
      expect(await shared.sharedThrottles.tarpit('t', 0)).toBe(0);
      expect(await shared.sharedThrottles.tarpit('t', 0)).toBe(60_000);
    } finally {
      await shared.close();
    }
  });

  it("no Redis configured, workers: the primary counts them for all its workers, apart from the ec_throttle ones of the same name", async () => {
    const primary = primaryState(100, { throttles: 100 });
    const handle = (w: { id: number; send(m: unknown): unknown }, m: unknown) => primary.handle(w, m);
    const sharedA = new ClusterThrottles(100, linkToPrimary(1, handle).channel, 'shared');
    const sharedB = new ClusterThrottles(100, linkToPrimary(2, handle).channel, 'shared');
    const named = new ClusterThrottles(100, linkToPrimary(3, handle).channel);
    sharedA.create('x', rate(1, 60), 0);
    named.create('x', rate(1, 60), 0);
    expect(await sharedA.tarpit('x', 0)).toBe(0);
    expect(await sharedB.tarpit('x', 0)).toBe(60_000);
    expect(await named.tarpit('x', 0)).toBe(0);
  });
});
