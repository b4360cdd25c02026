/**
 * The replicated caches of ec_cluster_cache_* (src/sievepp/cluster-caches.ts)
 * in each place smtp-cbv keeps them: in the process, with each value's
 * time to live and a bound on entries; in the primary for cluster workers
 * (src/store/cluster-caches.ts), so that what one worker sets the others
 * read; and in a real redis-server across servers (src/store/redis-caches.ts),
 * with the server's own caches answering while Redis cannot be reached.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterCacheTtl, MemoryClusterCaches } from '../../src/sievepp/cluster-caches.js';
import { ClusterCaches } from '../../src/store/cluster-caches.js';
import { createSharedState } from '../../src/store/index.js';
import { primaryState } from '../../src/store/primary-state.js';
import { RedisCaches } from '../../src/store/redis-caches.js';
import { RedisLink } from '../../src/store/redis-link.js';
import { freePort } from '../helpers/free-port.js';
import { linkToPrimary } from '../helpers/primary-link.js';
import { configFor, until } from '../helpers/queue-fixture.js';
import { NO_REDIS, TestRedis } from '../helpers/redis-server.js';

const silent = pino({ level: 'silent' });
const links: RedisLink[] = [];
afterEach(async () => {
  while (links.length) await links.pop()!.close();
});

async function connect(url: string, prefix: string): Promise<RedisLink> {
  const link = new RedisLink({ url, keyPrefix: prefix, commandTimeoutMs: 500, logger: silent });
  links.push(link);
  await link.settled(2000);
  return link;
}

describe('the ttl (sieve-ref-ec-cluster-cache-set.md)', () => {
  it('is seconds, or minutes or hours ending in "M" or "H"; "0" never expires; anything else is refused', () => {
    expect(['0', '30', '5M', '2h', ' 7 '].map(clusterCacheTtl)).toEqual([0, 30_000, 300_000, 7_200_000, 7000]);
    expect(clusterCacheTtl(String(2 ** 31 - 1))).toBe((2 ** 31 - 1) * 1000);
    for (const bad of ['', '-1', '1.5', '5s', 'H', '1 day', String(2 ** 31), '99999999999999999999H']) expect(clusterCacheTtl(bad)).toHaveProperty('problem');
  });
});

describe('in the process', () => {
  it('keeps each value for its ttl, "0" for ever, apart by cache and key', () => {
    const c = new MemoryClusterCaches();
    c.set('a', 'k', 'one', 1000, 0);
    c.set('b', 'k', 'two', 0, 0);
    c.set('a:k', '', 'three', 1000, 0);
    expect([c.get('a', 'k', 999), c.get('b', 'k', 999), c.get('a:k', '', 999), c.get('a', 'x', 999)]).toEqual(['one', 'two', 'three', undefined]);
    expect([c.get('a', 'k', 1000), c.get('b', 'k', 10 ** 12)]).toEqual([undefined, 'two']);
    // A set again replaces the value and its ttl.
    c.set('b', 'k', 'again', 10, 5);
    expect([c.get('b', 'k', 14), c.get('b', 'k', 15)]).toEqual(['again', undefined]);
  });

  it('holds at most its characters, dropping the entries set longest ago, and never a value larger than all of them', () => {
    // Each entry here is 'c\0k' (3 characters) and a value.
    const c = new MemoryClusterCaches(100, 20);
    c.set('c', '1', 'x'.repeat(7), 0, 0);
    c.set('c', '2', 'y'.repeat(7), 0, 0);
    c.set('c', '3', 'z'.repeat(7), 0, 0);
    expect(['1', '2', '3'].map((k) => c.get('c', k, 0)?.length)).toEqual([undefined, 7, 7]);
    c.set('c', '4', 'w'.repeat(30), 0, 0);
    expect(['2', '3', '4'].map((k) => c.get('c', k, 0)?.length)).toEqual([7, 7, undefined]);
    // Replacing a value frees what the old one held.
    c.set('c', '2', 'v'.repeat(7), 0, 0);
    c.set('c', '3', 'u'.repeat(7), 0, 0);
    expect(['2', '3'].map((k) => c.get('c', k, 0))).toEqual(['v'.repeat(7), 'u'.repeat(7)]);
  });

  it('holds at most its capacity, dropping the entry set longest ago', () => {
    const c = new MemoryClusterCaches(2);
    c.set('c', '1', 'a', 0, 0);
    c.set('c', '2', 'b', 0, 0);
    c.set('c', '1', 'a2', 0, 0);
    c.set('c', '3', 'c', 0, 0);
    expect(['1', '2', '3'].map((k) => c.get('c', k, 0))).toEqual(['a2', undefined, 'c']);
  });
});

describe('across the workers of one server (no Redis)', () => {
  it("reads in one worker what another set, in the primary; a worker cut off from it answers from its own", async () => {
    const primary = primaryState(100);
    const [one, two] = [linkToPrimary(1, (w, m) => primary.handle(w, m)), linkToPrimary(2, (w, m) => primary.handle(w, m))];
    const a = new ClusterCaches(one.channel);
    const b = new ClusterCaches(two.channel);
    a.set('mycache', 'mykey', 'myvalue', 0, 0);
    expect([await b.get('mycache', 'mykey', 1), await b.get('mycache', 'other', 1)]).toEqual(['myvalue', undefined]);
    two.cut();
    b.set('mycache', 'own', 'mine', 0, 2);
    expect([await b.get('mycache', 'own', 3), await b.get('mycache', 'mykey', 3), await a.get('mycache', 'own', 3)]).toEqual(['mine', undefined, undefined]);
  });

  it('no Redis configured: one process keeps them itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-cluster-caches-'));
    const shared = createSharedState(configFor('', dir), silent);
    try {
      expect(shared.clusterCaches).toBeInstanceOf(MemoryClusterCaches);
    } finally {
      await shared.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(NO_REDIS)('in Redis, across servers (skipped: redis-server is not installed)', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await TestRedis.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it("one server reads what another set; the value expires with its ttl in Redis; a ':' in a name makes no second entry one", async () => {
    const a = new RedisCaches(await connect(redis.url, 'cc1:'), new MemoryClusterCaches());
    const b = new RedisCaches(await connect(redis.url, 'cc1:'), new MemoryClusterCaches());
    a.set('mycache', 'mykey', 'myvalue', 0, 0);
    a.set('short', 'k', 'soon gone', 300, 0);
    a.set('a:b', 'c', 'first', 0, 0);
    a.set('a', 'b:c', 'second', 0, 0);
    expect([await b.get('mycache', 'mykey', 0), await b.get('short', 'k', 0), await b.get('a:b', 'c', 0), await b.get('a', 'b:c', 0)]).toEqual(['myvalue', 'soon gone', 'first', 'second']);
    await new Promise((r) => setTimeout(r, 400));
    // b's own caches never held it, and Redis let it expire.
    expect(await b.get('short', 'k', 400)).toBeUndefined();
  });

  it('answers from the server’s own caches while Redis is down, and from Redis again when it is back', async () => {
    const own = new MemoryClusterCaches();
    const link = await connect(redis.url, 'cc2:');
    const c = new RedisCaches(link, own);
    const otherLink = await connect(redis.url, 'cc2:');
    const other = new RedisCaches(otherLink, new MemoryClusterCaches());
    other.set('m', 'k', 'from the other server', 0, 0);
    expect(await c.get('m', 'k', 0)).toBe('from the other server');
    await redis.kill();
    await until(() => !link.up);
    c.set('m', 'k', 'set while down', 0, 1);
    expect(await c.get('m', 'k', 2)).toBe('set while down');
    await redis.resume();
    await until(() => link.up && otherLink.up);
    // A restarted Redis holds nothing (no persistence here): the server's own caches answer.
    expect(await c.get('m', 'k', 3)).toBe('set while down');
    other.set('m', 'k', 'after', 0, 4);
    await until(async () => (await c.get('m', 'k', 5)) === 'after');
  });
});

describe('a configured Redis that cannot be reached', () => {
  it("answers from the server's own caches", async () => {
    const link = new RedisLink({ url: `redis://127.0.0.1:${await freePort()}`, keyPrefix: 'x:', commandTimeoutMs: 200, logger: silent });
    links.push(link);
    await link.settled(1000);
    const c = new RedisCaches(link, new MemoryClusterCaches());
    c.set('m', 'k', 'v', 0, 0);
    expect(await c.get('m', 'k', 1)).toBe('v');
  });
});
