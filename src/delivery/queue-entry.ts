/**
 * A queue entry's state, replayed from its file (queue-file.ts): per
 * recipient the last recorded status, attempts, next retry and the last
 * reply; operator commands in the order they were written. The server and
 * the operator CLI read entries the same way.
 *
 * Recipient states (docs/delivery.md): queued -> delivering -> deferred ->
 * delivered / bounced / expired. `delivering` exists only in the running
 * server's memory: after a crash such a recipient is queued or deferred
 * again and retried.
 */
import type { Reply } from '../session/reply.js';
import { type EntryFile, type EntryHeader, type EntryRecord, FINAL, type RecipientStatus } from './queue-file.js';

export type RecipientState = 'queued' | 'delivering' | RecipientStatus;

export interface RecipientProgress {
  address: string;
  folders?: string[];
  state: RecipientState;
  attempts: number;
  /** When to try again (epoch ms); 0 = now. */
  next: number;
  reply?: Reply;
  hop?: string;
  /** An operator asked for this recipient to be bounced. */
  bounceRequested?: boolean;
  /** Bounced or expired, and the bounce not yet queued. */
  unreported?: boolean;
}

export interface EntryState {
  header: EntryHeader;
  recipients: RecipientProgress[];
  /** An operator deleted the entry: it goes without a bounce. */
  deleted: boolean;
  lastDelayNotice?: number;
  /** Operator command ids already applied. */
  commands: Set<string>;
}

export function isFinal(r: RecipientProgress): boolean {
  return FINAL.has(r.state as RecipientStatus);
}

export function pending(r: RecipientProgress): boolean {
  return r.state === 'queued' || r.state === 'deferred';
}

export function replay(file: Pick<EntryFile, 'header' | 'records'>): EntryState {
  const state: EntryState = {
    header: file.header,
    recipients: file.header.recipients.map((r) => ({ address: r.address, ...(r.folders ? { folders: r.folders } : {}), state: 'queued', attempts: 0, next: 0 })),
    deleted: false,
    commands: new Set(),
  };
  for (const r of file.records) apply(state, r);
  return state;
}

/** Applies one record; returns true when it was an operator command not seen before. */
export function apply(state: EntryState, r: EntryRecord): boolean {
  switch (r.t) {
    case 'r': {
      const p = state.recipients[r.i];
      if (!p) return false;
      p.state = r.s;
      p.attempts = r.n;
      p.next = r.next ?? 0;
      if (r.reply) p.reply = r.reply;
      if (r.hop) p.hop = r.hop;
      if (FINAL.has(r.s)) delete p.bounceRequested;
      if (r.s === 'bounced' || r.s === 'expired') p.unreported = true;
      return false;
    }
    case 'notified':
      for (const i of r.i) if (state.recipients[i]) delete state.recipients[i]!.unreported;
      return false;
    case 'dsn':
      state.lastDelayNotice = r.at;
      return false;
    default: {
      if (state.commands.has(r.c)) return false;
      state.commands.add(r.c);
      if (r.t === 'delete') state.deleted = true;
      for (const p of state.recipients) {
        if (!pending(p) && p.state !== 'delivering') continue;
        if (r.t === 'flush') p.next = 0;
        if (r.t === 'bounce') p.bounceRequested = true;
      }
      return true;
    }
  }
}

/** Every recipient is final and reported (or the entry was deleted): the file can go. */
export function finished(state: EntryState): boolean {
  return state.deleted || state.recipients.every((r) => isFinal(r) && !r.unreported);
}
