/**
 * RFC 7352's duplicate-tracking list (docs/sieve-reference.md, "duplicate"): the ids
 * a policy's `duplicate` tests saw, each until its period runs out. The
 * session records a transaction's ids once its result is carried out
 * (src/session/session.ts), so the list is only ever asked, never changed,
 * while scripts run.
 *
 * MemoryDuplicates is one process's list, bounded in entries: when full,
 * the entries recorded or refreshed longest ago go first. Losing an entry
 * can only let a duplicate through, never make a new message one (RFC 7352
 * 3: a false "true" must never happen, a missed duplicate may). Redis
 * (redis-duplicates.ts) or a cluster's primary (cluster-duplicates.ts)
 * share the list between processes.
 */
import { createHash } from 'node:crypto';
import type { DuplicateRecord } from '../sieve/index.js';

export type { DuplicateRecord } from '../sieve/index.js';

export interface DuplicateStore {
  /** Is `id` on the list, its period not run out? */
  seen(id: string): boolean | Promise<boolean>;
  /** Records what a carried-out transaction's runs tested: new ids from now, ids tested with :last afresh. */
  record(records: readonly DuplicateRecord[]): void;
}

/**
 * An id as a shared store keeps it: hashed (RFC 7352 3.2's note), since an
 * id is whatever a header held, of any length and content.
 */
export const hashId = (id: string): string => createHash('sha256').update(id).digest('base64url');

/** The records that change a list: a duplicate tested without :last changes nothing (RFC 7352 3.3). */
export const changesOf = (records: readonly DuplicateRecord[]): DuplicateRecord[] => records.filter((r) => r.last || !r.duplicate);

/** Entries a process keeps: some 100 bytes each. */
const MAX_ENTRIES = 100_000;

export class MemoryDuplicates implements DuplicateStore {
  /** Expiry (epoch ms) by id, in the order they were recorded or refreshed. */
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly maxEntries = MAX_ENTRIES,
    private readonly now: () => number = Date.now,
  ) {}

  seen(id: string): boolean {
    const expires = this.expiries.get(id);
    if (expires === undefined) return false;
    if (expires > this.now()) return true;
    this.expiries.delete(id);
    return false;
  }

  record(records: readonly DuplicateRecord[]): void {
    const now = this.now();
    for (const r of changesOf(records)) {
      // Without :last an entry's period runs from its first record (RFC 7352 3.3), even for a new id
      // another session recorded meanwhile.
      if (!r.last && this.seen(r.id)) continue;
      this.expiries.delete(r.id);
      this.expiries.set(r.id, now + r.seconds * 1000);
    }
    for (const oldest of this.expiries.keys()) {
      if (this.expiries.size <= this.maxEntries) break;
      this.expiries.delete(oldest);
    }
  }

  get size(): number {
    return this.expiries.size;
  }
}
