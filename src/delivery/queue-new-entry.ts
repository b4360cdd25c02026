/**
 * A new delivery queue entry as it is handed to the queue (by the store,
 * queue-store.ts, and by the queue itself for its bounces and delay
 * notices), and the header it is written with (queue-file.ts).
 */
import { type EntryHeader, type EntryKind, type EntryRecipient, newQueueId } from './queue-file.js';
import { type Piece, piecesSize } from './write-pieces.js';

export interface NewEntry {
  kind: EntryKind;
  from: string;
  recipients: EntryRecipient[];
  /** The message, or its pieces (our Received: header and a spooled message, copied into the entry in chunks). */
  message: Buffer | readonly Piece[];
  transaction?: string;
  client?: EntryHeader['client'];
  verdicts?: Record<string, unknown>;
  about?: string;
  deliverBy?: EntryHeader['deliverBy'];
}

/** The header of a new entry accepted at `now`, with a new queue id. */
export function entryHeader(n: NewEntry, now: number): EntryHeader {
  return {
    v: 1 as const,
    id: newQueueId(now),
    kind: n.kind,
    from: n.from,
    recipients: n.recipients,
    receivedAt: now,
    size: Buffer.isBuffer(n.message) ? n.message.length : piecesSize(n.message),
    ...(n.transaction ? { transaction: n.transaction } : {}),
    ...(n.client ? { client: n.client } : {}),
    ...(n.verdicts ? { verdicts: n.verdicts } : {}),
    ...(n.about ? { about: n.about } : {}),
    ...(n.deliverBy ? { deliverBy: { deadline: n.deliverBy.deadline, mode: n.deliverBy.mode, trace: n.deliverBy.trace } } : {}),
  };
}
