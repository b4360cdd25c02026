/**
 * Momentum's per-IP series (ec_ip_connections, ec_ip_receptions,
 * ec_ip_rejections, audit_series: src/sievepp/counters.ts) across the
 * workers of one server when no Redis is configured (docs/operations.md,
 * "Workers"). Each worker records every event in the primary as well as in
 * its own memory (primary-channel.ts), and asks the primary for a count, so
 * a policy that counts an address's events sees every worker's. When the
 * primary does not answer in time, the worker's own events answer.
 *
 * The primary's half is CounterTally; a worker's is ClusterCounterStore.
 */
import { type CounterQuery, type CounterStore, MemoryCounterStore } from '../sievepp/counters.js';
import { answer, type PrimaryChannel, primaryChannel } from './primary-channel.js';

const COUNTERS = 'smtp-cbv:counters';

type CounterMessage =
  | { type: typeof COUNTERS; op: 'add'; series: string; ip: string; count: number; now: number }
  | { type: typeof COUNTERS; op: 'count'; query: CounterQuery; seq?: number };

export class ClusterCounterStore implements CounterStore {
  private readonly local = new MemoryCounterStore();

  constructor(private readonly primary: PrimaryChannel = primaryChannel()) {}

  add(series: string, ip: string, count: number, now: number): void {
    this.local.add(series, ip, count, now);
    this.primary.tell<CounterMessage>({ type: COUNTERS, op: 'add', series, ip, count, now });
  }

  count(query: CounterQuery): Promise<number> {
    return this.primary.ask<number, CounterMessage>({ type: COUNTERS, op: 'count', query }, () => this.local.count(query));
  }
}

/** The primary's store: every worker's events. */
export class CounterTally {
  private readonly store = new MemoryCounterStore();

  /** Handles a worker's message if it is about counters; returns whether it was. */
  handle(worker: { send(message: unknown): unknown }, message: unknown): boolean {
    const m = message as CounterMessage | null;
    if (m?.type !== COUNTERS) return false;
    if (m.op === 'add') this.store.add(m.series, m.ip, m.count, m.now);
    else if (m.op === 'count') answer(worker, m, this.store.count(m.query));
    return true;
  }
}
