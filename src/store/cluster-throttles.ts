/**
 * Named throttles (ec_throttle_*, src/sievepp/throttles.ts) across the
 * workers of one server: Momentum counts them in each node, and the workers
 * are one node's processes (docs/operations.md, "Workers"), so each worker
 * counts in the primary, over its IPC line (primary-channel.ts), with or
 * without Redis. Each worker also keeps its own copy of what it did; when
 * the primary does not answer in time, that copy answers.
 *
 * The shared throttles (ec_shared_throttle_*) go the same way under their
 * own message type, so that a name means two throttles, as in Momentum: the
 * primary keeps them for the node when no Redis is configured, and while a
 * configured Redis cannot be reached (redis-throttles.ts).
 *
 * The primary's half is ThrottleTally; a worker's is ClusterThrottles.
 */
import { NamedThrottles, type ThrottleRate, type ThrottleStore } from '../sievepp/throttles.js';
import { answer, type PrimaryChannel, primaryChannel } from './primary-channel.js';

/** Which throttles: ec_throttle_*'s, or ec_shared_throttle_*'s. */
export type ThrottleScope = 'named' | 'shared';

const TYPES = { named: 'smtp-cbv:throttles', shared: 'smtp-cbv:shared-throttles' } as const;

type ThrottleMessage =
  | { type: string; op: 'create'; name: string; rate: ThrottleRate; now: number }
  | { type: string; op: 'inc' | 'dec' | 'exceeded' | 'tarpit'; name: string; now: number; seq?: number };

export class ClusterThrottles implements ThrottleStore {
  private readonly local: NamedThrottles;
  private readonly type: string;

  constructor(capacity: number, private readonly primary: PrimaryChannel = primaryChannel(), scope: ThrottleScope = 'named') {
    this.local = new NamedThrottles(capacity);
    this.type = TYPES[scope];
  }

  create(name: string, rate: ThrottleRate, now: number): void {
    this.local.create(name, rate, now);
    this.primary.tell<ThrottleMessage>({ type: this.type, op: 'create', name, rate, now });
  }

  inc(name: string, now: number): Promise<boolean> {
    return this.ask('inc', name, now, this.local.inc(name, now));
  }

  dec(name: string, now: number): Promise<boolean> {
    return this.ask('dec', name, now, this.local.dec(name, now));
  }

  exceeded(name: string, now: number): Promise<boolean | undefined> {
    return this.ask('exceeded', name, now, this.local.exceeded(name, now));
  }

  tarpit(name: string, now: number): Promise<number | undefined> {
    return this.ask('tarpit', name, now, this.local.tarpit(name, now));
  }

  /** The primary's answer, or `own`, what this worker's copy answered, when none comes. */
  private ask<T>(op: 'inc' | 'dec' | 'exceeded' | 'tarpit', name: string, now: number, own: T): Promise<T> {
    return this.primary.ask<T, ThrottleMessage>({ type: this.type, op, name, now }, () => own);
  }
}

/** The primary's throttles of one scope: every worker's messages. */
export class ThrottleTally {
  private readonly throttles: NamedThrottles;
  private readonly type: string;

  constructor(capacity: number, scope: ThrottleScope = 'named') {
    this.throttles = new NamedThrottles(capacity);
    this.type = TYPES[scope];
  }

  /** Handles a worker's message if it is about throttles; returns whether it was. */
  handle(worker: { send(message: unknown): unknown }, message: unknown): boolean {
    const m = message as ThrottleMessage | null;
    if (m?.type !== this.type) return false;
    if (m.op === 'create') this.throttles.create(m.name, m.rate, m.now);
    // An answer of undefined (no such throttle) crosses the IPC line as a missing value: undefined again.
    else answer(worker, m, m.op === 'inc' ? this.throttles.inc(m.name, m.now) : m.op === 'dec' ? this.throttles.dec(m.name, m.now) : m.op === 'exceeded' ? this.throttles.exceeded(m.name, m.now) : this.throttles.tarpit(m.name, m.now));
    return true;
  }
}
