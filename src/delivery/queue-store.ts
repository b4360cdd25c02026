/**
 * The store of a server that routes mail (docs/delivery.md): an accepted
 * message becomes one queue entry for its recipients (with the folders the
 * policy chose, used by the `maildir` route), one entry per Sieve redirect
 * (composed as RFC 5228 4.2 and Pigeonhole send it, with its loop guard)
 * and one per vacation reply (RFC 5230, composed with its own safeguards)
 * and per notification (RFC 5435/5436 mailto, from the null sender).
 * All are written in one go, all or none, before the client hears 250.
 * It also queues the messages scripts send themselves (`send`).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { composeNotifications, composeRedirect, composeVacationReply, parseMessage, type SieveMessage } from '../sieve/index.js';
import type { OutgoingMail } from '../session/decide.js';
import type { OutgoingMailSender } from '../session/outgoing-mail.js';
import { parseGateway } from '../config/gateway.js';
import type { Accepted, MessageStore } from '../session/session.js';
import type { ConnectionState, Transaction } from '../session/state.js';
import type { DuplicateStore } from '../store/duplicates.js';
import type { EntryRecipient } from './queue-file.js';
import type { DeliveryQueue } from './queue.js';
import type { NewEntry } from './queue-new-entry.js';
import { newMessageId, receivedHeader, rfc5322Date } from './received.js';
import { composeScriptMail } from './script-mail.js';
import { VacationMemory } from './vacation-memory.js';

/**
 * The recipient with the gateway a script chose for it (ec_set_routing_gateway), written into
 * the entry's header so that it holds across restarts; the function checked the text already.
 */
function withGateway(r: EntryRecipient, text: string | undefined): EntryRecipient {
  const gateway = text === undefined ? undefined : parseGateway(text);
  return gateway ? { ...r, gateway } : r;
}

export class QueueStore implements MessageStore, OutgoingMailSender {
  private readonly vacations: VacationMemory;

  constructor(
    readonly queue: DeliveryQueue,
    private readonly logger: Logger,
  ) {
    this.vacations = new VacationMemory(join(queue.files.dir, 'vacation.json'));
  }

  /** Vacation replies are also recorded in, and asked of, the server's shared list (vacation-memory.ts). */
  shareVacations(shared: DuplicateStore): void {
    this.vacations.share(shared);
  }

  /** The messages scripts send (generate_mail_raw, ec_forward: src/delivery/script-mail.ts), written in one go. */
  async send(mails: readonly OutgoingMail[], context: { connection: ConnectionState; transaction: Transaction | undefined; original: Buffer | undefined }): Promise<string[]> {
    const entries = await composeScriptMail(mails, { hostname: context.connection.hostname, original: context.original, ...(context.transaction ? { transaction: context.transaction.id } : {}) });
    return entries.length ? this.queue.add(entries) : [];
  }

  async store({ connection, transaction, plan, message }: Accepted): Promise<string[]> {
    const folders = new Map<string, string[]>();
    for (const s of plan.stores) for (const r of s.recipients) folders.set(r, [...(folders.get(r) ?? []), s.folder]);
    const recipients: EntryRecipient[] = [...folders].map(([address, f]) => withGateway({ address, folders: f }, plan.gateways?.[address]));
    const header = receivedHeader(connection, recipients.length === 1 ? [recipients[0]!.address] : [], connection.hostname, transaction.id);
    // A message in memory stays there for the first attempt; a spooled one is copied into the entry in chunks
    // and read back when delivered (docs/server.md, "Messages on disk").
    const pieces = [Buffer.from(header), message];
    let whole: Buffer | undefined;
    const full = () => (whole ??= Buffer.concat([pieces[0] as Buffer, message.bytes()]));
    const common = {
      transaction: transaction.id,
      client: { address: connection.remoteAddress, ...(connection.helo ? { helo: connection.helo } : {}), tls: connection.tls, ...(connection.user ? { user: connection.user } : {}) },
      verdicts: { ...transaction.verdictVariables },
    };
    const entries: NewEntry[] = [];
    if (recipients.length) entries.push({ kind: 'message', from: plan.mailFrom ?? transaction.mailFrom, recipients, message: message.path === undefined ? full() : pieces, ...common, ...(transaction.deliverBy ? { deliverBy: transaction.deliverBy } : {}) });

    let parsed: SieveMessage | undefined;
    // Bytes pass through latin1 unchanged: the composed copy is the received message byte for byte.
    const sieveMessage = () => (parsed ??= parseMessage(full().toString('latin1')));
    const firstRecipient = transaction.recipients[0]?.address ?? '';
    // Replies and copies are composed from the message whole: a spooled one is loaded on the thread pool first, not read on the event loop.
    if (plan.redirects.length || plan.vacations.length || plan.notifications.length) await message.load?.();
    for (const to of plan.redirects) {
      const details = plan.redirectDetails?.[to];
      // RFC 5703 6: after an enclose, a redirect forwards the message as it was before it (our Received: on top, as for the others).
      const forwarded = details?.forward === undefined ? sieveMessage() : parseMessage(Buffer.concat([Buffer.from(header), Buffer.from(details.forward, 'utf8')]).toString('latin1'));
      const out = composeRedirect(to, forwarded, { from: transaction.mailFrom, to: [firstRecipient] });
      if (!out) {
        this.logger.info({ event: 'redirect.loop', transaction: transaction.id, to }, `redirect to <${to}> refused: the message was redirected by this recipient before`);
        continue;
      }
      // RFC 6009 6: a redirect's own deadline, else the message's (RFC 2852: a forwarded message keeps its BY).
      const deliverBy = details?.deliverBy ?? transaction.deliverBy;
      entries.push({ kind: 'redirect', from: out.envelope.from, recipients: out.envelope.to.map((address) => ({ address })), message: Buffer.from(out.text, 'latin1'), ...common, ...(deliverBy ? { deliverBy } : {}) });
    }
    const replied: Array<{ recipient: string; sender: string; handle: string; period: number }> = [];
    for (const v of plan.vacations) {
      const reply = composeVacationReply(v.data, sieveMessage(), { from: transaction.mailFrom, to: [v.recipient] });
      if (!reply) {
        this.logger.debug({ event: 'vacation.skipped', transaction: transaction.id, recipient: v.recipient }, 'no vacation reply for this message (RFC 5230 4.5-4.6)');
        continue;
      }
      const sender = reply.envelope.to[0] ?? '';
      const handle = String(v.data.handle ?? '');
      if (!(await this.vacations.mayReply(v.recipient, sender, handle))) {
        this.logger.debug({ event: 'vacation.skipped', transaction: transaction.id, recipient: v.recipient }, 'vacation reply already sent to this sender within the period (RFC 5230 4.2)');
        continue;
      }
      // The composer leaves Date and Message-ID to the host (RFC 5322 3.6: both belong in every message).
      const ids = `Date: ${rfc5322Date(new Date())}\r\nMessage-ID: ${newMessageId(connection.hostname, 'vacation')}\r\n`;
      // RFC 5230 4.1: :days defaults to 7 (the extension already applied it).
      replied.push({ recipient: v.recipient, sender, handle, period: typeof v.data.periodSeconds === 'number' ? v.data.periodSeconds : 7 * 86_400 });
      entries.push({ kind: 'vacation', from: reply.envelope.from, recipients: reply.envelope.to.map((address) => ({ address })), message: Buffer.from(ids + reply.text, 'utf8'), transaction: transaction.id });
    }
    for (const n of plan.notifications) {
      const out = composeNotifications(n.data, sieveMessage(), { from: transaction.mailFrom, to: [n.recipient] }, {
        // RFC 3834 (which RFC 5436 extends to notifications): automatic mail goes out from the null sender, so it never bounces back.
        setting: (name) => (name === 'sieve_notify_mailto_envelope_from' ? '<>' : undefined),
        postmaster: `postmaster@${connection.hostname}`,
      });
      if (!out.length) this.logger.debug({ event: 'notify.skipped', transaction: transaction.id, recipient: n.recipient }, 'no notification for this message (RFC 5436: it is automatic, or every recipient was notified)');
      // One notification goes to each of its recipients as one message: one Date and Message-ID per text.
      const ids = new Map<string, string>();
      for (const m of out) {
        if (!ids.has(m.text)) ids.set(m.text, `Date: ${rfc5322Date(new Date())}\r\nMessage-ID: ${newMessageId(connection.hostname, 'notify')}\r\n`);
        entries.push({ kind: 'notify', from: m.envelope.from, recipients: m.envelope.to.map((address) => ({ address })), message: Buffer.from(ids.get(m.text)! + m.text, 'utf8'), transaction: transaction.id });
      }
    }
    if (!entries.length) return [];
    const ids = await this.queue.add(entries);
    for (const r of replied) this.vacations.remember(r.recipient, r.sender, r.handle, r.period);
    return ids;
  }
}
