/**
 * Gauge caches (sieve-ref-ec-gauge-cache.md): named caches of named
 * counters, which ec_gauge_cache_inc and _dec move up and down (a key not
 * in the cache is created at 0 first, so a dec of a new key gives -1).
 *
 * A cache is made by ec_gauge_cache_init with its most elements and the
 * time to expiration of an element, in seconds. The page leaves both to
 * its Lua twin, msys.gauge_cache.define: an entry is kept `ttl` seconds
 * after it was last modified (an inc or a dec; a get does not keep it),
 * and a new entry in a full cache drops the oldest, here the one modified
 * longest ago (within src/lru-map.ts's slack: an entry modified in the
 * last half of the cache's size of changes is never dropped). A script inits before each use, as the page's example does:
 * an init of a cache that exists changes nothing, its size and expiry
 * included.
 *
 * Memory is bounded three times: each cache by its own most elements, all
 * of them together by `budget` elements (1,000,000 by default), and the
 * caches by number (10,000: a script may name a cache per client); an init
 * past either drops the caches used longest ago until it fits
 * (docs/sieve-reference.md, `ec_gauge_cache_init`).
 */
import { LruMap } from '../lru-map.js';

/** The largest cache an init may ask for, and the elements of all caches together. */
export const GAUGE_BUDGET = 1_000_000;
/** The most caches kept at once. */
export const GAUGE_CACHES = 10_000;

export interface GaugeShape {
  /** Most elements the cache keeps. */
  size: number;
  /** Seconds an element is kept after it was last modified. */
  ttlSeconds: number;
}

/** Why `size` and `ttl` are not a gauge cache's shape; undefined when they are. */
export function gaugeShapeProblem(size: number, ttlSeconds: number, budget = GAUGE_BUDGET): string | undefined {
  if (!Number.isInteger(size) || size < 1 || size > budget) return `the most elements must be a whole number from 1 to ${budget}, not ${size}`;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) return `the time to expiration must be a whole number of seconds from 1, not ${ttlSeconds}`;
  return undefined;
}

/**
 * Gauge caches as the Sieve functions use them: NamedGauges in a process
 * of its own, or the primary's for a cluster worker (one server's caches,
 * as one Momentum node's; src/store/cluster-gauges.ts), whose answers take
 * a round trip. inc and dec return false when there is no such cache; get
 * returns undefined then, and 0 for a key the cache does not hold.
 */
export interface GaugeStore {
  init(name: string, shape: GaugeShape): void;
  inc(name: string, key: string, now: number): boolean;
  dec(name: string, key: string, now: number): boolean;
  get(name: string, key: string, now: number): number | undefined | Promise<number | undefined>;
}

interface Entry {
  value: number;
  modified: number;
}

interface Cache {
  shape: GaugeShape;
  /** The first was modified longest ago (src/lru-map.ts: within its slack, as a key changed by every message moves nothing). */
  entries: LruMap<string, Entry>;
}

export class NamedGauges implements GaugeStore {
  /** The first is the one used longest ago (src/lru-map.ts); dropped by init, to keep within the budget, never by the map. */
  private readonly caches: LruMap<string, Cache>;
  /** The sizes of all caches together: what they may come to hold. */
  private reserved = 0;

  constructor(
    readonly budget = GAUGE_BUDGET,
    readonly maxCaches = GAUGE_CACHES,
  ) {
    this.caches = new LruMap(maxCaches + 1);
  }

  /** Makes the cache unless one of that name is kept (then nothing changes). */
  init(name: string, shape: GaugeShape): void {
    if (this.use(name)) return;
    if (gaugeShapeProblem(shape.size, shape.ttlSeconds, this.budget)) return;
    for (const [oldest, c] of this.caches.entries()) {
      if (this.reserved + shape.size <= this.budget && this.caches.size < this.maxCaches) break;
      this.caches.delete(oldest);
      this.reserved -= c.shape.size;
    }
    this.caches.set(name, { shape, entries: new LruMap(shape.size) });
    this.reserved += shape.size;
  }

  inc(name: string, key: string, now: number): boolean {
    return this.move(name, key, 1, now);
  }

  dec(name: string, key: string, now: number): boolean {
    return this.move(name, key, -1, now);
  }

  /** The key's value: 0 when the cache does not hold it (or it expired); undefined when there is no such cache. */
  get(name: string, key: string, now: number): number | undefined {
    const c = this.use(name);
    if (!c) return undefined;
    // A read modifies nothing: it leaves the order as it is.
    const e = c.entries.peek(key);
    if (!e) return 0;
    if (this.expired(c, e, now)) {
      c.entries.delete(key);
      return 0;
    }
    return e.value;
  }

  /** How many elements all caches hold (expired ones not yet dropped included). */
  get size(): number {
    let n = 0;
    this.caches.forEach((c) => {
      n += c.entries.size;
    });
    return n;
  }

  private move(name: string, key: string, by: number, now: number): boolean {
    const c = this.use(name);
    if (!c) return false;
    const e = c.entries.peek(key);
    const value = e && !this.expired(c, e, now) ? e.value : 0;
    // Full: the entry modified longest ago goes (the map drops it), and with it any that expired before it.
    c.entries.set(key, { value: value + by, modified: now });
    for (const [k, old] of c.entries.entries()) {
      if (!this.expired(c, old, now)) break;
      c.entries.delete(k);
    }
    return true;
  }

  private expired(c: Cache, e: Entry, now: number): boolean {
    return now - e.modified >= c.shape.ttlSeconds * 1000;
  }

  private use(name: string): Cache | undefined {
    return this.caches.get(name);
  }
}
