/**
 * Replicated caches (sieve-ref-ec-cluster-cache-get.md,
 * sieve-ref-ec-cluster-cache-set.md): string values by cache name and key,
 * each kept for its own time to live. Momentum replicates them across the
 * nodes of its cluster; smtp-cbv keeps them where it keeps its other
 * shared state (docs/operations.md, "Redis"): in Redis, across every server
 * that shares it (src/store/redis-caches.ts), else in the server (a cluster
 * worker's in its primary, src/store/cluster-caches.ts), else here.
 *
 * A cache needs no declaring: Momentum's `replicate` directive in its
 * cluster scope names the caches, and smtp-cbv ignores that scope, so any
 * name is a cache. Memory is bounded by `capacity` entries over all caches
 * (100,000 by default): a set into a full store drops the entry set
 * longest ago.
 */

/** The most entries the caches of a process hold together. */
export const CLUSTER_CACHE_ENTRIES = 100_000;

export interface ClusterCacheStore {
  /** The value set for `key` in `cache` and not expired at `now` (ms); undefined for none. */
  get(cache: string, key: string, now: number): string | undefined | Promise<string | undefined>;
  /** Sets `key` in `cache` to `value` until `now` + `ttlMs`; a `ttlMs` of 0 never expires. */
  set(cache: string, key: string, value: string, ttlMs: number, now: number): void;
}

/**
 * ec_cluster_cache_set's `ttl`: a whole number of seconds, or of minutes
 * or hours when it ends with "M" or "H" ("0": the value never expires), as
 * milliseconds; a message when it is none of those.
 */
export function clusterCacheTtl(ttl: string): number | { problem: string } {
  const m = /^\s*([0-9]+)\s*([hHmM]?)\s*$/.exec(ttl);
  if (!m) return { problem: `the ttl must be a whole number of seconds, or of minutes or hours ending in "M" or "H", not '${ttl}'` };
  const unit = m[2]!.toUpperCase();
  return Number(m[1]) * (unit === 'H' ? 3_600_000 : unit === 'M' ? 60_000 : 1000);
}

interface Entry {
  value: string;
  /** When it expires (ms); Infinity for never. */
  until: number;
}

/** The caches in this process: one Map in the order of the sets, so that the first entry is the one set longest ago. */
export class MemoryClusterCaches implements ClusterCacheStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly capacity = CLUSTER_CACHE_ENTRIES) {}

  get(cache: string, key: string, now: number): string | undefined {
    const id = entryId(cache, key);
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.until > now) return e.value;
    this.entries.delete(id);
    return undefined;
  }

  set(cache: string, key: string, value: string, ttlMs: number, now: number): void {
    const id = entryId(cache, key);
    this.entries.delete(id);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, { value, until: ttlMs === 0 ? Infinity : now + ttlMs });
  }
}

/** One Map key for a cache's key: a NUL cannot be in a cache name a script writes as a Sieve string (RFC 5228 2.4.2). */
const entryId = (cache: string, key: string): string => `${cache}\0${key}`;
