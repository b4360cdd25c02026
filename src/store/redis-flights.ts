/**
 * Single flight across processes (docs/operations.md, "Redis"): one probe
 * per address for the whole cluster.
 *
 * - The first process to ask takes a lock, `SET lock token NX PX ttl`; the
 *   TTL (the probe deadline plus a margin) frees the key if its owner
 *   crashes.
 * - The owner stores its verdict under a key named by its token, publishes
 *   it on one channel, then deletes the lock (only if still its own). The
 *   verdict key is written before the lock goes, so a waiter that missed
 *   the message still finds it.
 * - Waiters listen on the channel and, in case a message is lost (the
 *   subscriber reconnecting), poll every `pollMs`: the verdict, or a lock
 *   that is gone or someone else's (the owner vanished: ask again).
 * Transient verdicts travel too: they are not cached (docs/cbv.md), but the
 * checks that waited for that probe get its answer, as in one process.
 */
import { randomUUID } from 'node:crypto';
import type { FlightTicket, FlightWait, ProbeFlights, SharedVerdict } from '../cbv/shared.js';
import { STATUS_OF } from '../cbv/types.js';
import type { RedisLink } from './redis-link.js';

/** How long a published verdict stays readable by late waiters. */
const RESULT_TTL_MS = 30_000;

/** Atomically: take the lock, or say who holds it. */
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end
return {0, redis.call('GET', KEYS[1])}`;

/** Delete the lock only while it is ours (a lock that expired may belong to someone else now). */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** A waiter's poll: 1 + verdict, 0 = still running, 2 = the owner is gone. */
const POLL = `
local r = redis.call('GET', KEYS[2])
if r then return {1, r} end
if redis.call('GET', KEYS[1]) == ARGV[1] then return {0} end
return {2}`;

interface Waiter {
  token: string;
  settle(w: FlightWait): void;
}

export class RedisFlights implements ProbeFlights {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly channel: string;
  private subscribed: Promise<unknown> | undefined;

  constructor(
    private readonly link: RedisLink,
    private readonly pollMs = 250,
  ) {
    this.channel = link.key('flight-done');
  }

  async join(key: string, opts: { lockTtlMs: number; waitMs: number }): Promise<FlightTicket> {
    this.subscribe();
    const token = randomUUID();
    const lock = this.link.key('flight', key);
    const r = await this.link.attempt((c) => c.eval(ACQUIRE, 1, lock, token, String(Math.ceil(opts.lockTtlMs))) as Promise<[number, string?]>);
    if (!r.ok) return { role: 'unavailable' };
    const [acquired, owner] = r.value;
    if (acquired === 1) return this.owner(key, lock, token);
    if (!owner) return { role: 'waiter', result: Promise.resolve({ kind: 'retry' }) }; // it expired meanwhile
    return { role: 'waiter', result: this.wait(key, lock, owner, opts.waitMs) };
  }

  private owner(key: string, lock: string, token: string): FlightTicket {
    const release = () => this.link.attempt((c) => c.eval(RELEASE, 1, lock, token));
    return {
      role: 'owner',
      done: async (verdict: SharedVerdict) => {
        const text = JSON.stringify(verdict);
        await this.link.attempt((c) => c.set(this.resultKey(key, token), text, 'PX', RESULT_TTL_MS));
        await this.link.attempt((c) => c.publish(this.channel, JSON.stringify({ key, token, verdict })));
        await release();
      },
      abandon: async () => {
        await release();
      },
    };
  }

  private wait(key: string, lock: string, token: string, waitMs: number): Promise<FlightWait> {
    return new Promise<FlightWait>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let polling = false;
      const waiter: Waiter = { token, settle };
      const set = this.waiters.get(key) ?? new Set<Waiter>();
      set.add(waiter);
      this.waiters.set(key, set);
      const until = Date.now() + Math.max(0, waitMs);
      const deadline = setTimeout(() => settle({ kind: 'timeout' }), Math.max(0, waitMs));
      const poll = async () => {
        if (polling) return;
        polling = true;
        const r = await this.link.attempt((c) => c.eval(POLL, 2, lock, this.resultKey(key, token), token) as Promise<[number, string?]>);
        polling = false;
        if (!r.ok) return settle({ kind: 'retry' }); // Redis went away: the engine falls back
        const [state, text] = r.value;
        if (state === 1 && text) {
          const verdict = parseVerdict(text);
          return settle(verdict ? { kind: 'verdict', verdict } : { kind: 'retry' });
        }
        if (state === 2) return settle({ kind: 'retry' });
        if (Date.now() < until) timer = setTimeout(() => void poll(), this.pollMs);
      };
      void poll();

      function settle(this: void, w: FlightWait) {
        clearTimeout(deadline);
        clearTimeout(timer);
        set.delete(waiter);
        resolve(w);
      }
    }).finally(() => {
      if (!this.waiters.get(key)?.size) this.waiters.delete(key);
    });
  }

  private resultKey(key: string, token: string): string {
    return this.link.key('flight-result', key, token);
  }

  /** One subscription per process; messages for keys nobody here waits for are dropped. */
  private subscribe(): void {
    if (this.subscribed) return;
    const sub = this.link.subscriber();
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      let m: { key?: string; token?: string; verdict?: unknown };
      try {
        m = JSON.parse(message) as typeof m;
      } catch {
        return;
      }
      const verdict = parseVerdict(JSON.stringify(m.verdict));
      if (typeof m.key !== 'string' || !verdict) return;
      for (const w of [...(this.waiters.get(m.key) ?? [])]) if (w.token === m.token) w.settle({ kind: 'verdict', verdict });
    });
    this.subscribed = sub.subscribe(this.channel).catch(() => undefined);
  }
}

export function parseVerdict(text: string): SharedVerdict | undefined {
  try {
    const v = JSON.parse(text) as SharedVerdict;
    return v && typeof v === 'object' && typeof v.reason === 'string' && Object.hasOwn(STATUS_OF, v.reason) && typeof v.stage === 'string' && typeof v.message === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
