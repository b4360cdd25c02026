/**
 * The replicated caches (ec_cluster_cache_*, src/sievepp/cluster-caches.ts)
 * across every smtp-cbv that shares the Redis (docs/operations.md,
 * "Redis"), as Momentum replicates them across the nodes of its cluster:
 * one Redis string a value, its time to live Redis's own (PX).
 *
 * Every value is also set in `local`, the server's own caches (the
 * primary's for a cluster worker), which answer while Redis cannot be
 * reached, and when Redis has no value (a Redis restarted or flushed): as
 * for the other Redis-backed stores, an outage costs the cluster-wide
 * view, never an answer.
 */
import type { ClusterCacheStore } from '../sievepp/cluster-caches.js';
import type { RedisLink } from './redis-link.js';

export class RedisCaches implements ClusterCacheStore {
  constructor(
    private readonly link: RedisLink,
    private readonly local: ClusterCacheStore,
  ) {}

  async get(cache: string, key: string, now: number): Promise<string | undefined> {
    const r = await this.link.attempt((c) => c.get(this.key(cache, key)));
    if (r.ok && r.value !== null) return r.value;
    return await this.local.get(cache, key, now);
  }

  set(cache: string, key: string, value: string, ttlMs: number, now: number): void {
    this.local.set(cache, key, value, ttlMs, now);
    const k = this.key(cache, key);
    void this.link.attempt((c) => (ttlMs === 0 ? c.set(k, value) : c.set(k, value, 'PX', ttlMs)));
  }

  /** The cache name's length first, so that a ':' in a name or key cannot make two entries one. */
  private key(cache: string, key: string): string {
    return this.link.key('cluster-cache', String(cache.length), cache, key);
  }
}
