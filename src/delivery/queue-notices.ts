/**
 * Which of a queue entry's recipients its sender must now hear about
 * (docs/delivery.md, "Bounces"): the bounce of those that failed since the
 * last report (RFC 3464 `Action: failed`), and the delay notice of those
 * still deferred (`Action: delayed`, with Generate_Delay_DSN, or once a
 * BY deadline with mode N has passed, RFC 2852). queue-notice-sender.ts
 * composes and queues the report (dsn.ts) and records it in the entry.
 */
import type { DeliveryConfig } from '../config/index.js';
import type { Reply } from '../session/reply.js';
import { type DsnRecipient, dsnRecipient, statusOf } from './dsn.js';
import type { EntryState } from './queue-entry.js';

/** The reply a recipient bounced by the operator (`smtp-cbv queue bounce`) reports. */
export const OPERATOR_BOUNCE: Reply = { code: 550, enhanced: '5.0.0', text: 'returned to sender by the queue operator' };

/** The recipients a bounce reports now, by their index in the entry; empty when none. */
export function bounceDue(state: EntryState, now: number): { indexes: number[]; recipients: DsnRecipient[] } {
  const failed = state.recipients.map((r, i) => [r, i] as const).filter(([r]) => r.unreported);
  return {
    indexes: failed.map(([, i]) => i),
    recipients: failed.map(([r]) => {
      const d = dsnRecipient(r.address, r.reply, r.hop, now);
      if (r.reply?.text === OPERATOR_BOUNCE.text) return { ...d, status: '5.0.0' };
      // An expired recipient reports its last transient reply (Postfix does the same); 4.4.7 when it had none.
      return r.state === 'expired' ? { ...d, status: statusOf(r.reply, '4.4.7') } : d;
    }),
  };
}

/** The recipients a delay notice reports now; empty when none is due. */
export function delayNoticeDue(state: EntryState, c: DeliveryConfig, now: number): DsnRecipient[] {
  const h = state.header;
  if (h.from === '') return [];
  // RFC 2852: with by-mode N, the sender hears once that the deadline passed (4.4.7, delivery time expired).
  const by = h.deliverBy;
  const byDue = by?.mode === 'notify' && now >= by.deadline && (state.lastDelayNotice ?? 0) < by.deadline;
  const since = state.lastDelayNotice ?? h.receivedAt;
  if (!byDue && (!c.generateDelayDsn || now - since < c.delayDsnIntervalMs)) return [];
  const late = state.recipients.filter((r) => r.state === 'deferred');
  const until = new Date(h.receivedAt + c.messageExpirationMs);
  const status = (r: (typeof late)[number]) => (byDue ? '4.4.7' : statusOf(r.reply, '4.0.0').replace(/^5/, '4'));
  return late.map((r) => ({ ...dsnRecipient(r.address, r.reply, r.hop, now), action: 'delayed' as const, status: status(r), willRetryUntil: until }));
}
