/**
 * The replicated caches (ec_cluster_cache_*, src/sievepp/cluster-caches.ts)
 * across the workers of one server when no Redis is configured
 * (docs/operations.md, "Workers"): each worker sets every value in the
 * primary as well as in its own memory (primary-channel.ts), and asks the
 * primary for a value, so that a value one worker set is every worker's.
 * When the primary does not answer in time, the worker's own memory answers.
 *
 * The primary's half is CacheTally; a worker's is ClusterCaches.
 */
import { type ClusterCacheStore, MemoryClusterCaches } from '../sievepp/cluster-caches.js';
import { answer, type PrimaryChannel, primaryChannel } from './primary-channel.js';

const CACHES = 'smtp-cbv:cluster-caches';

type CacheMessage =
  | { type: typeof CACHES; op: 'set'; cache: string; key: string; value: string; ttlMs: number; now: number }
  | { type: typeof CACHES; op: 'get'; cache: string; key: string; now: number; seq?: number };

export class ClusterCaches implements ClusterCacheStore {
  private readonly local = new MemoryClusterCaches();

  constructor(private readonly primary: PrimaryChannel = primaryChannel()) {}

  get(cache: string, key: string, now: number): Promise<string | undefined> {
    return this.primary.ask<string | undefined, CacheMessage>({ type: CACHES, op: 'get', cache, key, now }, () => this.local.get(cache, key, now));
  }

  set(cache: string, key: string, value: string, ttlMs: number, now: number): void {
    this.local.set(cache, key, value, ttlMs, now);
    this.primary.tell<CacheMessage>({ type: CACHES, op: 'set', cache, key, value, ttlMs, now });
  }
}

/** The primary's caches: every worker's values. */
export class CacheTally {
  private readonly caches = new MemoryClusterCaches();

  /** Handles a worker's message if it is about the caches; returns whether it was. */
  handle(worker: { send(message: unknown): unknown }, message: unknown): boolean {
    const m = message as CacheMessage | null;
    if (m?.type !== CACHES) return false;
    if (m.op === 'set') this.caches.set(m.cache, m.key, m.value, m.ttlMs, m.now);
    // No value crosses the IPC line as a missing one: undefined again.
    else answer(worker, m, this.caches.get(m.cache, m.key, m.now));
    return true;
  }
}
