/**
 * The delivery queue's attempts, computed (docs/delivery.md, "The queue"):
 * which of an entry's recipients are due now, grouped by destination into
 * the jobs the queue runs, and what one recipient's result of an attempt
 * records in its entry, with its next retry on the back-off schedule
 * (retry.ts). queue.ts does the waiting, the sending and the writing.
 */
import type { DeliveryConfig } from '../config/index.js';
import type { EntryState } from './queue-entry.js';
import { pending } from './queue-entry.js';
import type { EntryHeader, EntryRecord } from './queue-file.js';
import { nextAttempt } from './retry.js';
import { type Destination, destinationFor } from './routes.js';
import type { RecipientResult } from './smtp-sender.js';

/** A queue entry whose state is in memory. */
export interface Live {
  state: EntryState;
  /** Kept from acceptance to the first attempt; read from the file for retries. */
  message?: Buffer;
  timer?: NodeJS.Timeout;
  jobs: number;
}

/** One attempt: an entry's recipients at one destination. */
export interface Job {
  entry: Live;
  dest: Destination;
  indexes: number[];
}

/**
 * The jobs for an entry's recipients due at `now`, one per destination
 * (each recipient taken is marked delivering), and when the first of the
 * others is due (Infinity: none).
 */
export function dueJobs(live: Live, now: number, config: DeliveryConfig): { groups: Map<string, Job>; nextAt: number } {
  const groups = new Map<string, Job>();
  let nextAt = Infinity;
  live.state.recipients.forEach((r, i) => {
    if (!pending(r) || r.bounceRequested) return;
    if (r.next > now) {
      nextAt = Math.min(nextAt, r.next);
      return;
    }
    // A script's gateway is in the entry's header with the recipient (queue-file.ts), so it holds across restarts.
    const dest = destinationFor(r.address, config, live.state.header.recipients[i]?.gateway);
    const job = groups.get(dest.key) ?? { entry: live, dest, indexes: [] };
    job.indexes.push(i);
    groups.set(dest.key, job);
    r.state = 'delivering';
  });
  return { groups, nextAt };
}

/** The record of recipient `i`'s result of its `n`th attempt, made at `now`. */
export function attemptRecord(h: EntryHeader, res: RecipientResult, i: number, n: number, now: number, config: DeliveryConfig): Extract<EntryRecord, { t: 'r' }> {
  const base = { t: 'r' as const, i, at: now, n, reply: res.reply, ...(res.hop ? { hop: res.hop } : {}) };
  if (res.outcome === 'delivered') return { ...base, s: 'delivered' as const };
  if (res.outcome === 'failed') return { ...base, s: 'bounced' as const };
  // RFC 2852: with by-mode R the message is returned once its deadline passes: it expires then, if not sooner.
  const by = h.deliverBy;
  const left = by?.mode === 'return' ? by.deadline - h.receivedAt : Infinity;
  const next = nextAttempt(n, h.receivedAt, now, left < config.messageExpirationMs ? { ...config, messageExpirationMs: Math.max(0, left) } : config);
  if (next === null) return { ...base, s: 'expired' as const };
  // With N, one attempt at the deadline, after which the sender is told the message is late (delayNotice, queue-notice-sender.ts).
  return { ...base, s: 'deferred' as const, next: by?.mode === 'notify' && by.deadline > now ? Math.min(next, by.deadline) : next };
}
