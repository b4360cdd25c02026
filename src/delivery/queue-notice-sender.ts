/**
 * The delivery queue's reports to senders (docs/delivery.md, "Bounces"):
 * a bounce for the recipients that failed, a delay notice for those still
 * deferred (which ones is queue-notices.ts's), composed as RFC 3464
 * reports (dsn.ts), queued through the queue itself as new entries, and
 * noted in the entry they report on.
 */
import type { Logger } from 'pino';
import type { DeliveryConfig } from '../config/index.js';
import { composeDsn, type DsnRecipient, HEADER_SECTION_LIMIT } from './dsn.js';
import type { Live } from './queue-attempts.js';
import { apply } from './queue-entry.js';
import type { EntryRecord, QueueFiles } from './queue-file.js';
import type { NewEntry } from './queue-new-entry.js';
import { bounceDue, delayNoticeDue } from './queue-notices.js';

/** What the notices need of the queue. */
export interface NoticeQueue {
  readonly files: QueueFiles;
  readonly logger: Logger;
  /** Our name: Reporting-MTA of the reports. */
  readonly hostname: string;
  /** The queue's configuration as it is now. */
  config(): DeliveryConfig;
  /** Queues new entries (DeliveryQueue.add). */
  add(news: readonly NewEntry[]): Promise<string[]>;
}

export class NoticeSender {
  constructor(private readonly q: NoticeQueue) {}

  /**
   * One bounce for every recipient that failed since the last one: queued
   * first, then noted in the entry, so a crash in between sends it twice
   * rather than never.
   */
  async bounce(entry: Live): Promise<void> {
    const now = Date.now();
    const due = bounceDue(entry.state, now);
    if (!due.indexes.length) return;
    await this.notify(entry, due.recipients);
    const rec: EntryRecord = { t: 'notified', i: due.indexes, at: now };
    await this.q.files.append(entry.state.header.id, [rec]);
    apply(entry.state, rec);
  }

  async delayNotice(entry: Live): Promise<void> {
    const now = Date.now();
    const late = delayNoticeDue(entry.state, this.q.config(), now);
    if (!late.length) return;
    await this.notify(entry, late);
    const rec: EntryRecord = { t: 'dsn', at: now };
    await this.q.files.append(entry.state.header.id, [rec]);
    apply(entry.state, rec);
  }

  /** Queues a bounce or delay notice to the entry's sender; mail from the null sender gets none (RFC 5321 4.5.5). */
  private async notify(entry: Live, recipients: DsnRecipient[]): Promise<void> {
    const h = entry.state.header;
    const delayed = recipients.every((r) => r.action === 'delayed');
    if (h.from === '') {
      if (!delayed) this.q.logger.warn({ event: 'delivery.dropped', queue: h.id, kind: h.kind, recipients: recipients.map((r) => r.address) }, 'undeliverable mail from the null sender dropped (never bounced)');
      return;
    }
    // The report returns the original's header section only (dsn.ts): no more of it is read.
    const original = entry.message ?? (await (await this.q.files.message(h.id)).head(HEADER_SECTION_LIMIT));
    const dsn = composeDsn({ reportingMta: this.q.hostname, to: h.from, queueId: h.id, arrivalDate: new Date(h.receivedAt), recipients, original });
    const [id] = await this.q.add([{ kind: delayed ? 'delay' : 'bounce', from: '', recipients: [{ address: h.from }], message: dsn, about: h.id }]);
    this.q.logger.info({ event: delayed ? 'delivery.delay-notice' : 'delivery.bounce', queue: h.id, notice: id, to: h.from, recipients: recipients.map((r) => r.address) }, `${h.id}: ${delayed ? 'delay notice' : 'bounce'} ${id} to <${h.from}>`);
  }
}
