/**
 * Per-domain probe limits counted across every process (docs/operations.md,
 * "Redis"), in one atomic Lua script per probe, on Redis's clock:
 *
 * - concurrency as leases: a sorted set of lease ids scored by expiry; a
 *   probe's lease is removed when it ends, and one whose holder crashed
 *   lapses after `leaseTtlMs` (the probe deadline plus a margin);
 * - the rate as a sliding log: a sorted set of start times within the
 *   window, like the local limiter's (src/cbv/limiter.ts).
 * A probe takes both or neither. When Redis cannot be asked, `tryAcquire`
 * answers undefined and the engine counts in its own process instead.
 */
import { randomUUID } from 'node:crypto';
import { type Acquired, acquiredOnce } from '../cbv/limiter.js';
import type { DomainLimits, SharedLimits } from '../cbv/shared.js';
import type { RedisLink } from './redis-link.js';

/** KEYS: rate log, leases. ARGV: rate, window ms, max concurrent, lease ttl ms, id. 0 = taken, 1 = concurrency, 2 = rate. */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 1 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 2 end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 0`;

export class RedisLimits implements SharedLimits {
  constructor(private readonly link: RedisLink) {}

  async tryAcquire(domain: string, l: DomainLimits): Promise<Acquired | undefined> {
    const id = randomUUID();
    // The hash tag keeps both keys of a domain in one slot (Redis Cluster).
    const rate = this.link.key('rate', `{${domain}}`);
    const leases = this.link.key('leases', `{${domain}}`);
    const args = [l.ratePerDomain, Math.ceil(l.rateWindowMs), l.maxConcurrentPerDomain, Math.ceil(l.leaseTtlMs), id].map(String);
    const r = await this.link.attempt((c) => c.eval(ACQUIRE, 2, rate, leases, ...args) as Promise<number>);
    if (!r.ok) return undefined;
    if (r.value === 1) return { ok: false, why: 'domain-concurrency' };
    if (r.value === 2) return { ok: false, why: 'domain-rate' };
    // If Redis is away when it is released, the lease lapses by itself.
    return acquiredOnce(() => void this.link.attempt((c) => c.zrem(leases, id)));
  }
}
