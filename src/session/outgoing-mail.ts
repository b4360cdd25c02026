/**
 * New messages a script sends (Sieve++ generate_mail_raw and ec_forward,
 * docs/delivery.md "Sieve actions that send mail"): queued when the phase
 * that took them ends, before its reply, whatever becomes of the message in
 * the transaction. Momentum sends them when the function is called, so a
 * script may forward a message to an abuse desk and then refuse it; the
 * forward still goes.
 */
import type { Logger } from 'pino';
import type { OutgoingMail } from './decide.js';
import type { MessageSource } from './message-source.js';
import type { Phase } from './phases.js';
import type { ConnectionState, Transaction } from './state.js';

/** Where new messages go: the delivery queue (src/delivery/queue-store.ts). */
export interface OutgoingMailSender {
  /** Queues them durably, all or none; resolves with the queue ids. `original` is the message ec_forward attaches (a DSN's header section). */
  send(mails: readonly OutgoingMail[], context: { connection: ConnectionState; transaction: Transaction | undefined; original: Buffer | undefined }): Promise<string[]>;
}

/**
 * Queues a phase's new messages. Their ids go on the transaction's log line;
 * a message sent outside a transaction (at connect or EHLO) has a line of
 * its own. A failure is logged, never the phase's: the client's reply is
 * about its own message.
 */
export async function sendOutgoing(
  sender: OutgoingMailSender | undefined,
  logger: Logger,
  at: { phase: Phase; connection: ConnectionState; transaction: Transaction | undefined; message: MessageSource | undefined },
  mails: readonly OutgoingMail[],
): Promise<void> {
  const fields = { phase: at.phase, session: at.connection.id, ...(at.transaction ? { transaction: at.transaction.id } : {}), types: mails.map((m) => m.type) };
  if (!sender) {
    // The SMTP server without routing keeps mail in its Maildir, and the Postfix front doors deliver nothing themselves.
    const what = mails.some((m) => m.type === 'dsn') ? 'the DSN for the recipients each_rcpt refused' : 'generate_mail_raw / ec_forward';
    logger.warn({ event: 'outgoing.unsent', ...fields }, `${what}: nothing sent, this server has no delivery routing (docs/delivery.md)`);
    return;
  }
  try {
    let original: Buffer | undefined;
    if (at.message && mails.some((m) => m.type === 'forward')) {
      // A spooled message is loaded on the thread pool, not read on the event loop.
      await at.message.load?.();
      original = at.message.bytes();
    } else if (at.message && mails.some((m) => m.type === 'dsn')) {
      // A DSN returns the header section only (RFC 3462 text/rfc822-headers, src/delivery/dsn.ts): the whole message is not read for it.
      original = at.message.head ?? (await at.message.load?.(), at.message.bytes());
    }
    const ids = await sender.send(mails, { connection: at.connection, transaction: at.transaction, original });
    if (at.transaction) (at.transaction.outgoing ??= []).push(...ids);
    logger[at.transaction ? 'debug' : 'info']({ event: 'outgoing.queued', ...fields, queue: ids }, 'script mail queued');
  } catch (e) {
    logger.error({ event: 'outgoing.failed', ...fields, err: (e as Error).message }, 'script mail not queued');
  }
}
