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
 * name is a cache. Memory is bounded twice over all caches, by entries
 * (100,000) and by the characters of their keys and values (32 Mi): a set
 * that would pass either drops the entries set longest ago until it fits.
 */

/** The most entries the caches of a process hold together. */
export const CLUSTER_CACHE_ENTRIES = 100_000;
/** The most characters their names, keys and values hold together. */
export const CLUSTER_CACHE_CHARS = 32 * 1024 * 1024;
/** The longest ttl, in seconds (about 68 years): no cache means longer, and a number far past it would overflow Redis's expiry (an error for the SET). */
const MAX_TTL_SECONDS = 2 ** 31 - 1;

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
  const seconds = Number(m[1]) * (unit === 'H' ? 3600 : unit === 'M' ? 60 : 1);
  if (seconds > MAX_TTL_SECONDS) return { problem: `the ttl must be at most ${MAX_TTL_SECONDS} seconds, not '${ttl}'` };
  return seconds * 1000;
}

interface Entry {
  value: string;
  /** When it expires (ms); Infinity for never. */
  until: number;
}

/** The caches in this process: one Map in the order of the sets, so that the first entry is the one set longest ago. */
export class MemoryClusterCaches implements ClusterCacheStore {
  private readonly entries = new Map<string, Entry>();
  /** The characters of every entry's id and value. */
  private chars = 0;

  constructor(
    private readonly capacity = CLUSTER_CACHE_ENTRIES,
    private readonly maxChars = CLUSTER_CACHE_CHARS,
  ) {}

  get(cache: string, key: string, now: number): string | undefined {
    const id = entryId(cache, key);
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.until > now) return e.value;
    this.drop(id, e);
    return undefined;
  }

  set(cache: string, key: string, value: string, ttlMs: number, now: number): void {
    const id = entryId(cache, key);
    const old = this.entries.get(id);
    if (old) this.drop(id, old);
    const size = id.length + value.length;
    // A value larger than the whole store is not kept: keeping it would empty the store for nothing.
    if (size > this.maxChars) return;
    for (const [oldest, e] of this.entries) {
      if (this.entries.size < this.capacity && this.chars + size <= this.maxChars) break;
      this.drop(oldest, e);
    }
    this.entries.set(id, { value, until: ttlMs === 0 ? Infinity : now + ttlMs });
    this.chars += size;
  }

  private drop(id: string, e: Entry): void {
    this.entries.delete(id);
    this.chars -= id.length + e.value.length;
  }
}

/** One Map key for a cache's key: a NUL cannot be in a cache name a script writes as a Sieve string (RFC 5228 2.4.2). */
const entryId = (cache: string, key: string): string => `${cache}\0${key}`;
