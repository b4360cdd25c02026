/**
 * What one connection may ask of the server: recipients per transaction,
 * recipients per connection, messages per connection (Momentum's listener
 * options max_recipients_per_message, max_recipients_per_connection and
 * max_receptions_per_connection; docs/server.md, after the listener's
 * other limits).
 *
 * Every accepted recipient keeps its choices on the transaction until the
 * message is stored, so without the first limit one client could make one
 * session grow without end: 200,000 pipelined RCPT TO commands took a
 * server from 106 to 400 MB. The limits are checked before any script or
 * call-ahead runs, so a refused recipient costs nothing.
 */
import type { Reply } from './reply.js';

export interface SessionLimits {
  /** Recipients accepted in one transaction; 0: no limit. */
  recipientsPerMessage: number;
  /** Recipients accepted on one connection, all transactions together; 0: no limit. */
  recipientsPerConnection: number;
  /** Messages accepted on one connection; 0: no limit. */
  messagesPerConnection: number;
}

/**
 * Entries a transaction's log line lists of its phases (the rest are
 * counted) and of its recipient call-aheads. Refused recipients count
 * towards no limit, so a client sending RCPT TO after refused RCPT TO
 * would otherwise make the line (held until the transaction ends) grow
 * without end.
 */
export const MAX_LISTED = 256;

/** No limit at all: the dry run, and front doors beside an MTA (which enforces its own). */
export const NO_LIMITS: SessionLimits = Object.freeze({ recipientsPerMessage: 0, recipientsPerConnection: 0, messagesPerConnection: 0 });

/**
 * RFC 5321 4.5.3.1.10: a server out of room for recipients answers 452
 * (RFC 3463 X.5.3, too many recipients); the client delivers to those
 * accepted and sends the rest in another transaction.
 */
const tooManyRecipients: Reply = Object.freeze({ code: 452, enhanced: '4.5.3', text: 'Too many recipients' });
const tooManyOnConnection: Reply = Object.freeze({ code: 452, enhanced: '4.5.3', text: 'Too many recipients on this connection, send the rest on a new one' });
/** A 421 closes the connection (RFC 5321 3.8): the client may open a new one at once. */
const connectionSpent: Reply = Object.freeze({ code: 421, enhanced: '4.7.0', text: 'Too many messages on this connection, please reconnect' });

/** The reply to a RCPT TO past a limit, or undefined when it may be decided as usual. */
export function recipientRefusal(limits: SessionLimits, inTransaction: number, onConnection: number): Reply | undefined {
  if (limits.recipientsPerMessage > 0 && inTransaction >= limits.recipientsPerMessage) return tooManyRecipients;
  if (limits.recipientsPerConnection > 0 && onConnection >= limits.recipientsPerConnection) return tooManyOnConnection;
  return undefined;
}

/** The reply to a MAIL FROM on a connection that used up its messages or recipients (then it closes), or undefined. */
export function transactionRefusal(limits: SessionLimits, messages: number, recipients: number): Reply | undefined {
  if (limits.messagesPerConnection > 0 && messages >= limits.messagesPerConnection) return connectionSpent;
  if (limits.recipientsPerConnection > 0 && recipients >= limits.recipientsPerConnection) return connectionSpent;
  return undefined;
}
