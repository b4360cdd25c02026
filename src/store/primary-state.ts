/**
 * What the primary keeps for its workers when no Redis does
 * (docs/operations.md, "Workers"): connections per client address, the
 * per-IP series, the CBV verdict cache and probe limits, single flight,
 * RFC 7352's duplicate-tracking list, and the named throttles and gauge
 * caches (which it keeps with Redis too: they are one server's,
 * cluster-throttles.ts, cluster-gauges.ts) and shared throttles and
 * replicated caches (with Redis, for while it cannot be reached).
 * One entry point, so that the primary hands every worker message to all
 * of them and forgets a dead worker in all of them.
 */
import { CbvTally } from './cluster-cbv.js';
import { ConnectionTally } from './cluster-connections.js';
import { CounterTally } from './cluster-counters.js';
import { DuplicateTally } from './cluster-duplicates.js';
import { FlightTally } from './cluster-flights.js';
import { GaugeTally } from './cluster-gauges.js';
import { CacheTally } from './cluster-caches.js';
import { SqliteDuplicates } from './sqlite-duplicates.js';
import { ThrottleTally } from './cluster-throttles.js';
import type { Logger } from 'pino';

type Worker = { id: number; send(message: unknown): unknown };

export interface PrimaryState {
  /** Handles a worker's message if it is for the shared state; returns whether it was. */
  handle(worker: Worker, message: unknown): boolean;
  /** A worker is gone: what it held goes with it. */
  forget(workerId: number): void;
}

/** `duplicatesFile`: where the duplicate list is kept (sqlite-duplicates.ts); absent, in memory. `throttles`: how many named throttles are kept (siv_throttle_cache_size). */
export function primaryState(cbvCacheEntries: number, o: { duplicatesFile?: string; logger?: Logger; throttles?: number } = {}): PrimaryState {
  const connections = new ConnectionTally();
  const counters = new CounterTally();
  const cbv = new CbvTally(cbvCacheEntries);
  const flights = new FlightTally();
  const duplicates = new DuplicateTally(o.duplicatesFile ? new SqliteDuplicates(o.duplicatesFile, o.logger) : undefined);
  const throttles = new ThrottleTally(o.throttles ?? 1000);
  const sharedThrottles = new ThrottleTally(o.throttles ?? 1000, 'shared');
  const gauges = new GaugeTally();
  const caches = new CacheTally();
  return {
    handle: (worker, message) =>
      connections.handle(worker, message) || counters.handle(worker, message) || cbv.handle(worker, message) || flights.handle(worker, message) || duplicates.handle(worker, message) || throttles.handle(worker, message) || sharedThrottles.handle(worker, message) || gauges.handle(worker, message) || caches.handle(worker, message),
    forget: (workerId) => {
      connections.forget(workerId);
      cbv.forget(workerId);
      flights.forget(workerId);
    },
  };
}
