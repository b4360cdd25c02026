/**
 * Shared throttles (ec_shared_throttle_*, sieve-ref-ec-shared-throttle.md)
 * counted across every smtp-cbv that shares the Redis (docs/operations.md,
 * "Redis"), as Momentum counts them across the nodes of its cluster.
 *
 * Each throttle is one Redis hash, changed by one Lua script per operation
 * (atomic: two servers' tarpits never take the same place), with the same
 * fixed windows and tarpit places as a server's own throttles
 * (src/sievepp/throttles.ts, NamedThrottles). The clock is the caller's, as
 * for NamedThrottles: the window start is kept in Redis, so the servers of
 * a cluster agree on the windows as far as their clocks agree (NTP). The
 * key expires when NamedThrottles would drop the throttle: unused for its
 * interval and a second, and no tarpit place in a window still to come.
 * siv_throttle_cache_size bounds the fallback below, not Redis.
 *
 * Every operation is also made on `local`, the server's own store of shared
 * throttles (the primary's for a cluster worker), which answers while Redis
 * cannot be reached, or when Redis knows no throttle this server created
 * (a Redis restarted or flushed): as the other Redis-backed stores, an outage
 * costs the cluster-wide count, never an SMTP answer.
 */
import type { Redis } from 'ioredis';
import type { ThrottleRate, ThrottleStore } from '../sievepp/throttles.js';
import type { RedisLink } from './redis-link.js';

/**
 * KEYS[1]: the throttle. ARGV: now (ms), op, then for create messages and
 * seconds. Answers -1 for no such throttle; else 1 for create, inc and dec,
 * 1 or 0 for exceeded, the wait in ms for tarpit. The window moves on as
 * NamedThrottles.get moves it.
 */
const THROTTLE = `
local now = tonumber(ARGV[1])
local op = ARGV[2]
local h = redis.call('HMGET', KEYS[1], 'm', 's', 'start', 'count', 'ahead', 'used')
local m, s, start, count, ahead, used = tonumber(h[1]), tonumber(h[2]), tonumber(h[3]), tonumber(h[4]), tonumber(h[5]), tonumber(h[6])
local known = m ~= nil
if known then
  local w = s * 1000
  local ended = math.floor((now - start) / w)
  if ended > 0 then
    local served = math.min(ahead, (ended - 1) * m)
    count = math.min(ahead - served, m)
    ahead = ahead - served - count
    start = start + ended * w
  end
  if count == 0 and ahead == 0 and now - used > w + 1000 then known = false end
end
if not known then
  if op ~= 'create' then
    redis.call('DEL', KEYS[1])
    return -1
  end
  m, s, start, count, ahead = tonumber(ARGV[3]), tonumber(ARGV[4]), now, 0, 0
end
local answer = 1
if op == 'inc' then
  count = count + 1
elseif op == 'dec' then
  count = math.max(0, count - 1)
elseif op == 'exceeded' then
  if count > m then answer = 1 else answer = 0 end
elseif op == 'tarpit' then
  if count < m then
    count = count + 1
    answer = 0
  else
    answer = start + (1 + math.floor(ahead / m)) * s * 1000 - now
    ahead = ahead + 1
  end
end
redis.call('HSET', KEYS[1], 'm', m, 's', s, 'start', start, 'count', count, 'ahead', ahead, 'used', now)
local w = s * 1000
-- Dropped as NamedThrottles drops it: unused for its interval and a second, once no window with places is to come.
local last = start + (1 + math.ceil(ahead / m)) * w
redis.call('PEXPIRE', KEYS[1], math.max(w + 1000, last - now))
return answer`;

type Op = 'create' | 'inc' | 'dec' | 'exceeded' | 'tarpit';

/** The script as an ioredis command: EVALSHA, and the script itself once when Redis has not cached it. */
type WithThrottle = Redis & { smtpCbvThrottle(key: string, now: number, op: Op, ...rate: number[]): Promise<number> };

export class RedisThrottles implements ThrottleStore {
  /** Whether this spell's first local answer was logged. */
  private warned = false;

  constructor(
    private readonly link: RedisLink,
    private readonly local: ThrottleStore,
  ) {
    link.client.defineCommand('smtpCbvThrottle', { numberOfKeys: 1, lua: THROTTLE });
    // Each change of state begins a spell that is said once: a failed command alone (no outage) does not silence the next outage.
    link.onChange(() => {
      this.warned = false;
    });
  }

  create(name: string, rate: ThrottleRate, now: number): void {
    this.local.create(name, rate, now);
    // Sent on the same connection as the calls that follow, so Redis runs it before them.
    void this.run(name, now, 'create', rate.messages, rate.seconds);
  }

  inc(name: string, now: number): Promise<boolean> {
    return this.answer(this.run(name, now, 'inc'), this.local.inc(name, now), () => true);
  }

  dec(name: string, now: number): Promise<boolean> {
    return this.answer(this.run(name, now, 'dec'), this.local.dec(name, now), () => true);
  }

  exceeded(name: string, now: number): Promise<boolean | undefined> {
    return this.answer(this.run(name, now, 'exceeded'), this.local.exceeded(name, now), (n) => n === 1);
  }

  tarpit(name: string, now: number): Promise<number | undefined> {
    return this.answer(this.run(name, now, 'tarpit'), this.local.tarpit(name, now), (ms) => ms);
  }

  private run(name: string, now: number, op: Op, ...rate: number[]): Promise<{ ok: true; value: number } | { ok: false }> {
    return this.link.attempt((c) => (c as WithThrottle).smtpCbvThrottle(this.link.key('throttle', name), Math.round(now), op, ...rate));
  }

  /** Redis's answer; this server's own when Redis could not be asked or knows no such throttle. */
  private async answer<T>(shared: ReturnType<RedisThrottles['run']>, own: T | Promise<T>, of: (n: number) => T): Promise<T> {
    const r = await shared;
    if (r.ok && r.value !== -1) return of(r.value);
    if (!r.ok && !this.warned) {
      // Said once an outage, when a throttle first pays for it: RedisLink logs the outage itself.
      this.warned = true;
      this.link.options.logger.warn({ event: 'shared_throttles.local' }, 'redis unreachable: shared throttles count on this server only until it is back');
    }
    return await own;
  }
}
