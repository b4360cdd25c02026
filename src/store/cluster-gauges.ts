/**
 * Gauge caches (ec_gauge_cache_*, src/sievepp/gauges.ts) across the
 * workers of one server: Momentum keeps them in each node, and the workers
 * are one node's processes (docs/operations.md, "Workers"), so each worker
 * counts in the primary, over its IPC line (primary-channel.ts), with or
 * without Redis. An init, inc or dec is told (the channel keeps its order,
 * so a later get sees it); a get is asked. Each worker also keeps its own
 * copy of what it did; when the primary does not answer in time, that
 * copy answers.
 *
 * The primary's half is GaugeTally; a worker's is ClusterGauges.
 */
import { type GaugeShape, type GaugeStore, NamedGauges } from '../sievepp/gauges.js';
import { answer, type PrimaryChannel, primaryChannel } from './primary-channel.js';

const GAUGES = 'smtp-cbv:gauges';

type GaugeMessage =
  | { type: typeof GAUGES; op: 'init'; name: string; shape: GaugeShape }
  | { type: typeof GAUGES; op: 'inc' | 'dec' | 'get'; name: string; key: string; now: number; seq?: number };

export class ClusterGauges implements GaugeStore {
  private readonly local = new NamedGauges();

  constructor(private readonly primary: PrimaryChannel = primaryChannel()) {}

  init(name: string, shape: GaugeShape): void {
    this.local.init(name, shape);
    this.primary.tell<GaugeMessage>({ type: GAUGES, op: 'init', name, shape });
  }

  inc(name: string, key: string, now: number): boolean {
    return this.move('inc', name, key, now);
  }

  dec(name: string, key: string, now: number): boolean {
    return this.move('dec', name, key, now);
  }

  /** The primary's answer, or this worker's copy's when none comes. */
  get(name: string, key: string, now: number): Promise<number | undefined> {
    return this.primary.ask<number | undefined, GaugeMessage>({ type: GAUGES, op: 'get', name, key, now }, () => this.local.get(name, key, now));
  }

  /** Whether the cache exists is this worker's copy's answer: it made the cache with its own init. */
  private move(op: 'inc' | 'dec', name: string, key: string, now: number): boolean {
    const known = op === 'inc' ? this.local.inc(name, key, now) : this.local.dec(name, key, now);
    if (known) this.primary.tell<GaugeMessage>({ type: GAUGES, op, name, key, now });
    return known;
  }
}

/** The primary's gauge caches: every worker's changes. */
export class GaugeTally {
  private readonly gauges = new NamedGauges();

  /** Handles a worker's message if it is about gauge caches; returns whether it was. */
  handle(worker: { send(message: unknown): unknown }, message: unknown): boolean {
    const m = message as GaugeMessage | null;
    if (m?.type !== GAUGES) return false;
    if (m.op === 'init') this.gauges.init(m.name, m.shape);
    else if (m.op === 'inc') this.gauges.inc(m.name, m.key, m.now);
    else if (m.op === 'dec') this.gauges.dec(m.name, m.key, m.now);
    // An answer of undefined (no such cache) crosses the IPC line as a missing value: undefined again.
    else answer(worker, m, this.gauges.get(m.name, m.key, m.now));
    return true;
  }
}
