/**
 * One delivery attempt of some recipients of a queue entry to one
 * destination: SMTP or LMTP to the route's next hops (smtp-sender.ts), or
 * the local Maildir spool for the `maildir` route. Always resolves with
 * one result per recipient; nothing here writes queue state.
 */
import type { DeliveryConfig } from '../config/index.js';
import { INBOX, type MaildirSpool } from './maildir.js';
import type { OutboundPool } from './outbound.js';
import type { FileRange } from './file-range.js';
import type { EntryHeader } from './queue-file.js';
import type { Destination, NextHops } from './routes.js';
import { type RecipientResult, sendMessage } from './smtp-sender.js';

export interface TransportContext {
  config: DeliveryConfig;
  hops: NextHops;
  spool: MaildirSpool;
  /** EHLO/LHLO name. */
  helo: string;
  /** Open connections kept between messages. */
  pool?: OutboundPool;
  /** Counts the spool's fsyncs (a Maildir delivery makes three: its file's, a share of the journal's and of its directory's). */
  onFsyncs?(n: number): void;
}

export interface Batch {
  address: string;
  folders?: string[];
}

export async function deliverBatch(dest: Destination, header: EntryHeader, message: Buffer | FileRange, batch: readonly Batch[], ctx: TransportContext): Promise<RecipientResult[]> {
  if (dest.route.method === 'maildir') return toMaildir(header, message, batch, ctx);
  const to = batch.map((b) => b.address);
  const found = await ctx.hops.targets(dest);
  if (!found.ok) return to.map((recipient) => ({ recipient, outcome: found.permanent ? 'failed' : 'deferred', reply: found.reply }));
  return sendMessage(found.targets, header.from, to, message, {
    lmtp: dest.route.method === 'lmtp',
    tls: dest.route.tls,
    helo: ctx.config.ehloHostname ?? ctx.helo,
    connectTimeoutMs: ctx.config.connectTimeoutMs,
    responseTimeoutMs: ctx.config.responseTimeoutMs,
    ...(ctx.pool ? { pool: ctx.pool } : {}),
  });
}

/** One copy per folder, with the recipients it is for (as the embedded store writes them). */
async function toMaildir(header: EntryHeader, message: Buffer | FileRange, batch: readonly Batch[], ctx: TransportContext): Promise<RecipientResult[]> {
  const byFolder = new Map<string, string[]>();
  for (const b of batch) {
    for (const f of b.folders?.length ? b.folders : [INBOX]) {
      const list = byFolder.get(f) ?? [];
      list.push(b.address);
      byFolder.set(f, list);
    }
  }
  const failed = new Map<string, string>();
  for (const [folder, recipients] of byFolder) {
    try {
      await ctx.spool.deliver(folder, Buffer.isBuffer(message) ? message : [message], {
        mailFrom: header.from,
        recipients,
        client: header.client ?? { address: '' },
        ...(header.verdicts ? { verdicts: header.verdicts } : {}),
        receivedAt: new Date(header.receivedAt).toISOString(),
        ...(header.transaction ? { transaction: header.transaction } : {}),
        ...(header.kind === 'redirect' ? { redirect: true } : {}),
      });
      ctx.onFsyncs?.(3);
    } catch (e) {
      for (const r of recipients) failed.set(r, (e as Error).message);
    }
  }
  return batch.map((b) => {
    const error = failed.get(b.address);
    return error === undefined
      ? { recipient: b.address, outcome: 'delivered' as const, reply: { code: 250, enhanced: '2.0.0', text: 'delivered to the local spool' }, hop: 'maildir' }
      : { recipient: b.address, outcome: 'deferred' as const, reply: { code: 451, enhanced: '4.3.0', text: `local spool: ${error}` }, hop: 'maildir' };
  });
}
