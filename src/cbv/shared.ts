/**
 * What the engine asks of state shared between processes (docs/operations.md):
 * one probe per address across every process (single flight), and the
 * per-domain limits counted across every process. src/store/ implements
 * them over Redis; an engine without them keeps everything in its process.
 *
 * Every method may answer "unavailable" (the shared state cannot be reached
 * now): the engine then does what a single process does. A shared-state
 * outage slows nothing down to an SMTP failure.
 */
import type { Acquired } from './limiter.js';
import type { CacheEntry } from './cache.js';
import type { CbvReason, CbvStatus, Verdict } from './types.js';

/** A verdict as one process hands it to the others: plain JSON, a cache entry's fields and the status. */
export type SharedVerdict = Omit<CacheEntry, 'storedAt' | 'expiresAt'> & { status: CbvStatus };

/** What waiting for another process's probe came to. */
export type FlightWait =
  | { kind: 'verdict'; verdict: SharedVerdict }
  /** The owner went away without an answer (crashed, or the store failed): ask again. */
  | { kind: 'retry' }
  /** No answer before the wait ended. */
  | { kind: 'timeout' };

export type FlightTicket =
  /** This process probes; `done` hands the verdict to the waiters and frees the key. */
  | { role: 'owner'; done(verdict: SharedVerdict): Promise<void>; abandon(): Promise<void> }
  /** Another process probes; `result` settles when it answers. */
  | { role: 'waiter'; result: Promise<FlightWait> }
  | { role: 'unavailable' };

export interface ProbeFlights {
  /**
   * Joins the flight for `key`: the first caller anywhere owns it until
   * `done`, or until `lockTtlMs` passes (an owner that crashed frees it).
   */
  join(key: string, opts: { lockTtlMs: number; waitMs: number }): Promise<FlightTicket>;
}

export interface DomainLimits {
  maxConcurrentPerDomain: number;
  ratePerDomain: number;
  rateWindowMs: number;
  /** How long a concurrency slot lasts if its holder never gives it back. */
  leaseTtlMs: number;
}

export interface SharedLimits {
  /** A per-domain slot counted across processes; undefined when the shared count cannot be reached. */
  tryAcquire(domain: string, limits: DomainLimits): Promise<Acquired | undefined>;
}

/** Hooks for metrics: called as things happen, cheap, never throw. */
export interface CbvObserver {
  /** Every verdict the engine gives (cache hits included: `v.cached`). */
  verdict?(v: Verdict): void;
  /** A probe that ran (its verdict also goes to `verdict`). */
  probed?(durationMs: number, reason: CbvReason): void;
  /** A check answered by a probe already in flight, in this process or another. */
  joined?(scope: 'process' | 'cluster'): void;
  /** A probe refused by a limit. */
  limited?(why: string): void;
}

export function sharedVerdictOf(v: Verdict): SharedVerdict {
  const s: SharedVerdict = { status: v.status, reason: v.reason, stage: v.stage, message: v.message };
  if (v.host !== undefined) s.host = v.host;
  if (v.ip !== undefined) s.ip = v.ip;
  if (v.reply !== undefined) s.reply = v.reply;
  if (v.acceptAll !== undefined) s.acceptAll = v.acceptAll;
  return s;
}
