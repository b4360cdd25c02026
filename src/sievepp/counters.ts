/**
 * IP-address time series behind Momentum's ec_ip_connections,
 * ec_ip_receptions, ec_ip_rejections (and their _cluster forms),
 * audit_series and audit_series_add (sieve-ecaddons.md, "Audit series";
 * 3-reference-modules-inbound-audit.md).
 *
 * A series records events per IP address with their time; a query sums the
 * events of the addresses inside a CIDR block over a range of windows of a
 * monitor ("300,6": six windows of 300 seconds, window 0 the current one).
 * CounterStore is the interface a cluster-wide store (Redis) implements as
 * MemoryCounterStore does in one process; the server records the
 * connection, reception and rejection events (SERIES below).
 */
import { LruMap } from '../lru-map.js';
import { type AddressBits, addressBits, bitsInBlock, blockOf, normalizedAddress, singleAddress } from './address-block.js';

export { blockOf } from './address-block.js';

/** The series the ec_ip_* functions read: the host records into them. */
export const SERIES = { connections: 'connections', receptions: 'receptions', rejections: 'rejections' } as const;

export interface Monitor {
  /** Seconds per window. */
  window: number;
  windows: number;
}

/** "300,6" -> six windows of 300 seconds; undefined when malformed. */
export function parseMonitor(text: string): Monitor | undefined {
  const m = /^\s*([0-9]+)\s*,\s*([0-9]+)\s*$/.exec(text);
  if (!m) return undefined;
  const window = Number(m[1]);
  const windows = Number(m[2]);
  return window > 0 && windows > 0 && windows <= 1000 ? { window, windows } : undefined;
}

export interface CounterQuery {
  series: string;
  monitor: Monitor;
  /** The address whose block is counted, and the prefix length of the block. */
  ip: string;
  mask: number;
  /** Windows, 0 being the current one; start <= end. */
  periodStart: number;
  periodEnd: number;
  /** Milliseconds since the epoch. */
  now: number;
}

export interface CounterStore {
  /** Records `count` events for `ip` in a series at `now` (ms). */
  add(series: string, ip: string, count: number, now: number): void | Promise<void>;
  /** The events of the addresses in the block, summed over the windows. */
  count(q: CounterQuery): number | Promise<number>;
}

/** An address's events as (second, count) pairs, oldest first, and the address as numbers (address-block.ts). */
interface Kept {
  events: Array<[number, number]>;
  bits: AddressBits;
}

/** Normalised addresses remembered by a MemoryCounterStore before it starts again. */
const KEY_CACHE = 4096;

/**
 * Events kept in this process's memory, per series and address, as
 * (second, count) pairs; what is older than `retentionSeconds` is dropped
 * when the address records again, and `maxAddresses` bounds each series
 * (the address seen longest ago goes first: src/lru-map.ts, as a busy
 * client records on every connection). A query for one address looks it
 * up; one for a block tests the addresses kept without parsing them
 * (address-block.ts).
 */
export class MemoryCounterStore implements CounterStore {
  private readonly series = new Map<string, LruMap<string, Kept>>();

  constructor(private readonly limits: { retentionSeconds: number; maxAddresses: number } = { retentionSeconds: 86_400, maxAddresses: 100_000 }) {}

  /** Address as given -> its normalised key (null: not an address); the same few clients record again and again. */
  private readonly keys = new Map<string, string | null>();

  add(series: string, ip: string, count: number, now: number): void {
    let key = this.keys.get(ip);
    if (key === undefined) {
      key = normalizedAddress(ip);
      if (this.keys.size >= KEY_CACHE) this.keys.clear();
      this.keys.set(ip, key);
    }
    if (key === null) return;
    let s = this.series.get(series);
    if (!s) this.series.set(series, (s = new LruMap(this.limits.maxAddresses)));
    let kept = s.get(key);
    if (!kept) s.set(key, (kept = { events: [], bits: addressBits(key)! }));
    const events = kept.events;
    const second = Math.floor(now / 1000);
    const oldest = second - this.limits.retentionSeconds;
    while (events.length && events[0]![0] <= oldest) events.shift();
    const last = events[events.length - 1];
    if (last && last[0] === second) last[1] += count;
    else events.push([second, count]);
  }

  count(q: CounterQuery): number {
    const s = this.series.get(q.series);
    const block = blockOf(q.ip, q.mask);
    if (!s || !block) return 0;
    const nowS = Math.floor(q.now / 1000);
    // Window k covers the seconds (now - (k+1)*w, now - k*w].
    const newest = nowS - q.periodStart * q.monitor.window;
    const oldest = nowS - (q.periodEnd + 1) * q.monitor.window;
    const sum = (events: ReadonlyArray<[number, number]> | undefined) => {
      let n = 0;
      if (events) for (let i = 0; i < events.length; i++) if (events[i]![0] > oldest && events[i]![0] <= newest) n += events[i]![1];
      return n;
    };
    const one = singleAddress(block);
    if (one !== undefined) return sum(s.peek(one)?.events);
    const inside = bitsInBlock(block);
    let n = 0;
    s.forEach((kept) => {
      if (inside(kept.bits)) n += sum(kept.events);
    });
    return n;
  }
}
