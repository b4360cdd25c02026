/**
 * RFC 7352's duplicate-tracking list across the workers of one server when
 * no Redis is configured (docs/operations.md, "Workers"): a worker records
 * in the primary as well as in its own list (primary-channel.ts), and asks
 * the primary whether an id is on it, so a message seen by one worker is a
 * duplicate on every other. When the primary does not answer in time, the
 * worker's own list answers.
 *
 * The primary's half is DuplicateTally; a worker's is ClusterDuplicates.
 */
import { type DuplicateRecord, type DuplicateStore, MemoryDuplicates } from './duplicates.js';
import { answer, type PrimaryChannel, primaryChannel } from './primary-channel.js';

const DUPLICATES = 'smtp-cbv:duplicates';

type DuplicateMessage = { type: typeof DUPLICATES; op: 'record'; records: DuplicateRecord[] } | { type: typeof DUPLICATES; op: 'seen'; id: string; seq?: number };

export class ClusterDuplicates implements DuplicateStore {
  private readonly local = new MemoryDuplicates();

  constructor(private readonly primary: PrimaryChannel = primaryChannel()) {}

  seen(id: string): boolean | Promise<boolean> {
    if (this.local.seen(id)) return true;
    return this.primary.ask<boolean, DuplicateMessage>({ type: DUPLICATES, op: 'seen', id }, () => false);
  }

  record(records: readonly DuplicateRecord[]): void {
    this.local.record(records);
    if (records.length) this.primary.tell<DuplicateMessage>({ type: DUPLICATES, op: 'record', records: [...records] });
  }
}

/** The primary's list: every worker's records (in its file, sqlite-duplicates.ts, or in memory). */
export class DuplicateTally {
  constructor(private readonly list: DuplicateStore = new MemoryDuplicates()) {}

  /** Handles a worker's message if it is about duplicates; returns whether it was. */
  handle(worker: { send(message: unknown): unknown }, message: unknown): boolean {
    const m = message as DuplicateMessage | null;
    if (m?.type !== DUPLICATES) return false;
    if (m.op === 'record') this.list.record(m.records);
    else if (m.op === 'seen') void Promise.resolve(this.list.seen(m.id)).then((seen) => answer(worker, m, seen));
    return true;
  }
}
