/**
 * RFC 7352's duplicate-tracking list (src/store/duplicates.ts and the
 * stores that share it): periods from the first record unless :last, a
 * bounded list, the file that keeps it across restarts, the primary's list
 * across cluster workers, and Redis's across processes, with the process's
 * own list while Redis is down.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterDuplicates, DuplicateTally } from '../../src/store/cluster-duplicates.js';
import { type DuplicateRecord, MemoryDuplicates } from '../../src/store/duplicates.js';
import { PrimaryChannel } from '../../src/store/primary-channel.js';
import { RedisDuplicates } from '../../src/store/redis-duplicates.js';
import { RedisLink } from '../../src/store/redis-link.js';
import { SqliteDuplicates } from '../../src/store/sqlite-duplicates.js';
import { linkToPrimary } from '../helpers/primary-link.js';
import { NO_REDIS, TestRedis } from '../helpers/redis-server.js';

const tested = (id: string, seconds: number, o: { last?: boolean; duplicate?: boolean } = {}): DuplicateRecord => ({ id, seconds, last: o.last ?? false, duplicate: o.duplicate ?? false });

describe('one process', () => {
  it('knows an id for its period, counted from its first record unless :last (RFC 7352 3.3)', () => {
    let now = 0;
    const list = new MemoryDuplicates(100, () => now);
    expect(list.seen('a')).toBe(false);
    list.record([tested('a', 10), tested('b', 10)]);
    expect(list.seen('a')).toBe(true);
    // A duplicate tested without :last leaves the period alone; with :last it starts again.
    now = 6_000;
    list.record([tested('a', 10, { duplicate: true }), tested('b', 10, { last: true, duplicate: true })]);
    now = 10_000;
    expect(list.seen('a')).toBe(false);
    expect(list.seen('b')).toBe(true);
    now = 16_000;
    expect(list.seen('b')).toBe(false);
  });

  it('keeps at most its bound, dropping what was recorded longest ago', () => {
    const list = new MemoryDuplicates(3, () => 0);
    list.record(['a', 'b', 'c', 'd'].map((id) => tested(id, 60)));
    expect(list.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((id) => list.seen(id))).toEqual([false, true, true, true]);
  });
});

describe('kept in a file (sqlite-duplicates.ts)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-duplicates-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('survives a restart, keeps periods as the memory list does, and creates no file until first used', async () => {
    let now = 0;
    const file = join(dir, 'duplicates.sqlite');
    const first = new SqliteDuplicates(file, undefined, () => now);
    await expect(stat(file)).rejects.toThrow();
    first.record([tested('<m@example.test>', 10), tested('b', 10), tested('c', 10, { duplicate: true })]);
    // An id tested as a duplicate without :last changes nothing; one another session recorded first keeps its period.
    now = 6_000;
    first.record([tested('b', 10)]);
    first.close();
    const again = new SqliteDuplicates(file, undefined, () => now);
    expect([again.seen('<m@example.test>'), again.seen('b'), again.seen('c')]).toEqual([true, true, false]);
    again.record([tested('<m@example.test>', 10, { last: true, duplicate: true })]);
    now = 10_000;
    expect([again.seen('<m@example.test>'), again.seen('b')]).toEqual([true, false]);
    again.close();
  });

  it('keeps its bound, dropping the entries that lapse soonest, and counts what a restart finds', () => {
    const file = join(dir, 'bounded.sqlite');
    const list = new SqliteDuplicates(file, undefined, () => 0, 3);
    list.record([tested('a', 50), tested('b', 10), tested('c', 40), tested('d', 30)]);
    expect(['a', 'b', 'c', 'd'].map((id) => list.seen(id))).toEqual([true, false, true, true]);
    list.close();
    const again = new SqliteDuplicates(file, undefined, () => 0, 3);
    again.record([tested('e', 60)]);
    expect(['a', 'c', 'd', 'e'].map((id) => again.seen(id))).toEqual([true, true, false, true]);
    again.close();
  });

  it('counts an id refreshed with :last once: refreshes do not make it drop live entries under its bound', () => {
    const list = new SqliteDuplicates(join(dir, 'refreshed.sqlite'), undefined, () => 0, 3);
    list.record([tested('a', 50)]);
    for (let i = 0; i < 10; i++) list.record([tested('a', 50, { last: true, duplicate: true }), tested('a', 50, { last: true })]);
    list.record([tested('b', 50), tested('c', 50)]);
    expect(['a', 'b', 'c'].map((id) => list.seen(id))).toEqual([true, true, true]);
    list.close();
  });

  it('keeps the list in memory when its file cannot be opened or is not a database', async () => {
    const list = new SqliteDuplicates(join(dir, 'no-such-dir', 'duplicates.sqlite'));
    list.record([tested('x', 60)]);
    expect(list.seen('x')).toBe(true);
    const garbage = join(dir, 'garbage.sqlite');
    await writeFile(garbage, 'not a database, whatever its name says '.repeat(200));
    const other = new SqliteDuplicates(garbage);
    expect(other.seen('y')).toBe(false);
    other.record([tested('y', 60)]);
    expect(other.seen('y')).toBe(true);
  });
});

describe('cluster workers without Redis', () => {
  it("finds what another worker recorded, and its own records when the primary does not answer", async () => {
    const tally = new DuplicateTally();
    const a = new ClusterDuplicates(linkToPrimary(1, (w, m) => tally.handle(w, m)).channel);
    const b = new ClusterDuplicates(linkToPrimary(2, (w, m) => tally.handle(w, m)).channel);
    a.record([tested('x', 60)]);
    expect(await b.seen('x')).toBe(true);
    expect(await b.seen('y')).toBe(false);
    const alone = new ClusterDuplicates(new PrimaryChannel({ connected: true, send: () => true, on: () => undefined }));
    alone.record([tested('z', 60)]);
    expect(await alone.seen('z')).toBe(true);
  });
});

describe.skipIf(NO_REDIS)('processes sharing a Redis (skipped: redis-server is not installed)', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await TestRedis.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it("finds what another process recorded, keeps its own while Redis is down, and never extends without :last", async () => {
    const link = (n: number) => new RedisLink({ url: redis.url, keyPrefix: `dup-test-${n}:`, commandTimeoutMs: 500, logger: pino({ level: 'silent' }) });
    const one = link(1);
    const two = new RedisLink({ ...one.options });
    const three = new RedisLink({ ...one.options });
    await Promise.all([one.settled(2000), two.settled(2000), three.settled(2000)]);
    try {
      const a = new RedisDuplicates(one);
      const b = new RedisDuplicates(two);
      a.record([tested('<m1@example.test>', 60), tested('short', 1)]);
      await until(async () => b.seen('<m1@example.test>'));
      expect(await b.seen('<m2@example.test>')).toBe(false);
      // Without :last an entry keeps its first period: b tested 'short' before a's record reached Redis
      // (both found it new), and b's NX set leaves a's one-second entry to lapse.
      const c = new RedisDuplicates(three);
      expect(await c.seen('short')).toBe(true);
      b.record([tested('short', 60)]);
      await new Promise((r) => setTimeout(r, 1200));
      expect(await c.seen('short')).toBe(false);
      // Redis gone: what this process recorded still answers. (Not started again: no later test needs it,
      // and a start while the first still ran would leave that one behind.)
      await redis.kill();
      expect(await a.seen('<m1@example.test>')).toBe(true);
      expect(await a.seen('<m3@example.test>')).toBe(false);
    } finally {
      await one.close();
      await two.close();
      await three.close();
    }
  });
});

async function until(check: () => Promise<boolean>, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
