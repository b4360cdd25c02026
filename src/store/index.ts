/**
 * Shared state for a process (docs/operations.md, "Redis"): built once from
 * the configuration, kept across reloads, closed at stop. Without Redis a
 * single process keeps everything to itself, and a cluster worker keeps it
 * in its primary (primary-state.ts), so the workers act as one server.
 */
import cluster from 'node:cluster';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CbvStore } from '../cbv/cache.js';
import { MemoryStore } from '../cbv/cache.js';
import type { ProbeFlights, SharedLimits } from '../cbv/shared.js';
import type { Config, RedisConfig } from '../config/types.js';
import { type CounterStore, MemoryCounterStore } from '../sievepp/counters.js';
import { type ConnectionCounter, LocalConnections, RedisConnections } from './connections.js';
import { ClusterConnections } from './cluster-connections.js';
import { ClusterCounterStore } from './cluster-counters.js';
import { ClusterCbvStore, ClusterLimits } from './cluster-cbv.js';
import { ClusterFlights } from './cluster-flights.js';
import { ClusterDuplicates } from './cluster-duplicates.js';
import type { DuplicateStore } from './duplicates.js';
import { SqliteDuplicates } from './sqlite-duplicates.js';
import { RedisDuplicates } from './redis-duplicates.js';
import { SharedCounterStore } from './counter-store.js';
import { RedisFlights } from './redis-flights.js';
import { RedisLimits } from './redis-limits.js';
import { RedisLink } from './redis-link.js';
import { SharedCbvStore } from './shared-cbv-store.js';
import { NamedThrottles, type ThrottleStore } from '../sievepp/throttles.js';
import { ClusterThrottles } from './cluster-throttles.js';
import { RedisThrottles } from './redis-throttles.js';
import { type ClusterCacheStore, MemoryClusterCaches } from '../sievepp/cluster-caches.js';
import { ClusterCaches } from './cluster-caches.js';
import { RedisCaches } from './redis-caches.js';

export { type ConnectionCounter, LocalConnections, RedisConnections } from './connections.js';
export { RedisLink } from './redis-link.js';

export interface SharedState {
  /** The CBV verdict cache (Redis over memory, or memory). */
  cbvStore: CbvStore;
  flights?: ProbeFlights;
  sharedLimits?: SharedLimits;
  /** Per-IP connection counts for the listeners and for ec_ip_connections-style counters. */
  connections: ConnectionCounter;
  /** Sieve++'s per-IP and named counters (ec_ip_*, audit_series), across processes with Redis. */
  counterStore: CounterStore;
  /** RFC 7352's duplicate-tracking list (the policy's `duplicate` test). */
  duplicates: DuplicateStore;
  /** ec_shared_throttle_*'s throttles: across every process sharing the Redis; without it, this server's (the primary's for workers). */
  sharedThrottles: ThrottleStore;
  /** ec_cluster_cache_*'s caches: in the Redis when there is one; without it, this server's (the primary's for workers). */
  clusterCaches: ClusterCacheStore;
  /** Set when Redis is configured. */
  redis?: { link: RedisLink; required: boolean };
  close(): Promise<void>;
}

/** Where a server without Redis keeps RFC 7352's duplicate list (sqlite-duplicates.ts). */
export function duplicatesFile(config: Config): string {
  return join(config.spoolDir, 'duplicates.sqlite');
}

/** The Redis settings in force: smtp_cbv's `redis_url` wins over the `redis` scope's `url`. */
export function redisSettings(config: Config): RedisConfig | null {
  const url = config.smtpCbv?.redisUrl ?? config.redis?.url;
  if (!url) return null;
  return { url, required: config.redis?.required ?? false, commandTimeoutMs: config.redis?.commandTimeoutMs ?? 1000, keyPrefix: config.redis?.keyPrefix ?? 'smtp-cbv:' };
}

export function createSharedState(config: Config, logger: Logger): SharedState {
  const local = new MemoryStore(config.smtpCbv?.cache.size ?? 10_000);
  const settings = redisSettings(config);
  // What one server can share: a cluster worker's shared throttles are counted in its primary.
  const serverThrottles = cluster.isWorker ? new ClusterThrottles(config.sivThrottleCacheSize, undefined, 'shared') : new NamedThrottles(config.sivThrottleCacheSize);
  const serverCaches = cluster.isWorker ? new ClusterCaches() : new MemoryClusterCaches();
  if (!settings) {
    if (!cluster.isWorker) {
      const duplicates = new SqliteDuplicates(duplicatesFile(config), logger);
      return { cbvStore: local, connections: new LocalConnections(), counterStore: new MemoryCounterStore(), duplicates, sharedThrottles: serverThrottles, clusterCaches: serverCaches, close: async () => duplicates.close() };
    }
    // A cluster worker keeps these in its primary, so they are the server's (cluster-connections.ts,
    // cluster-counters.ts, cluster-cbv.ts, cluster-flights.ts, cluster-duplicates.ts).
    return {
      cbvStore: new ClusterCbvStore(local),
      sharedLimits: new ClusterLimits(),
      flights: new ClusterFlights(),
      connections: new ClusterConnections(),
      counterStore: new ClusterCounterStore(),
      duplicates: new ClusterDuplicates(),
      sharedThrottles: serverThrottles,
      clusterCaches: serverCaches,
      close: async () => undefined,
    };
  }
  const link = new RedisLink({ ...settings, logger });
  const connections = new RedisConnections(link);
  return {
    cbvStore: new SharedCbvStore(link, local),
    flights: new RedisFlights(link),
    sharedLimits: new RedisLimits(link),
    connections,
    counterStore: new SharedCounterStore(link),
    duplicates: new RedisDuplicates(link),
    sharedThrottles: new RedisThrottles(link, serverThrottles),
    clusterCaches: new RedisCaches(link, serverCaches),
    redis: { link, required: settings.required },
    async close() {
      await connections.stop();
      await link.close();
    },
  };
}
