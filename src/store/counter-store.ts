/**
 * Momentum's per-IP series (ec_ip_connections, ec_ip_receptions,
 * ec_ip_rejections, audit_series: src/sievepp/counters.ts) counted across
 * every process that shares a Redis.
 *
 * Each address's events are a Redis hash of per-second buckets that
 * expires with the retention; a set per series names the addresses, so
 * that a query over a CIDR block can find them. Every event is also kept
 * in this process's MemoryCounterStore: while Redis is down, queries
 * answer from this process's own events (never an error because of Redis).
 */
import { blockOf, inBlock, normalizedAddress, singleAddress } from '../sievepp/address-block.js';
import { type CounterQuery, type CounterStore, MemoryCounterStore } from '../sievepp/counters.js';
import type { RedisLink } from './redis-link.js';

/** How long events are kept (as MemoryCounterStore's default): a day. */
const RETENTION_SECONDS = 86_400;

export class SharedCounterStore implements CounterStore {
  private readonly local = new MemoryCounterStore({ retentionSeconds: RETENTION_SECONDS, maxAddresses: 100_000 });

  constructor(private readonly link: RedisLink) {}

  async add(series: string, ip: string, count: number, now: number): Promise<void> {
    this.local.add(series, ip, count, now);
    const address = normalizedAddress(ip);
    if (address === null) return;
    const hash = this.link.key('ctr', series, address);
    const index = this.link.key('ctr', series);
    await this.link.attempt((c) =>
      c.multi().hincrby(hash, String(Math.floor(now / 1000)), count).expire(hash, RETENTION_SECONDS).sadd(index, address).expire(index, RETENTION_SECONDS).exec(),
    );
  }

  async count(q: CounterQuery): Promise<number> {
    const block = blockOf(q.ip, q.mask);
    if (!block) return 0;
    const nowS = Math.floor(q.now / 1000);
    // Window k covers the seconds (now - (k+1)*w, now - k*w], as in MemoryCounterStore.
    const newest = nowS - q.periodStart * q.monitor.window;
    const oldest = nowS - (q.periodEnd + 1) * q.monitor.window;
    // One address is looked up; a block's are found in the series' set, tested without being parsed (address-block.ts).
    const one = singleAddress(block);
    const r = await this.link.attempt(async (c) => {
      const addresses = one !== undefined ? [one] : (await c.smembers(this.link.key('ctr', q.series))).filter(inBlock(block));
      if (!addresses.length) return 0;
      const pipeline = c.pipeline();
      for (const a of addresses) pipeline.hgetall(this.link.key('ctr', q.series, a));
      let n = 0;
      for (const [err, buckets] of (await pipeline.exec()) ?? []) {
        if (err) throw err;
        for (const [t, v] of Object.entries(buckets as Record<string, string>)) if (Number(t) > oldest && Number(t) <= newest) n += Number(v);
      }
      return n;
    });
    return r.ok ? r.value : this.local.count(q);
  }
}
