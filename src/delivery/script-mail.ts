/**
 * The messages Sieve++ scripts send, composed for the queue
 * (docs/delivery.md, "Sieve actions that send mail"):
 *
 * - generate_mail_raw (sieve-ref-generate-mail-raw.md): the script's text
 *   is the whole message, header and body. Its lines end in CRLF (RFC 5322
 *   2.1), and a `Date` and `Message-ID` are added when it has none
 *   (RFC 5322 3.6: both belong in every message; Postfix's cleanup adds
 *   them the same way). One message goes to all the recipients given.
 * - ec_forward (sieve-ref-ec-forward.md): a new message to each recipient,
 *   "the same as calling ec_forward once per address", whose body is the
 *   script's text and whose attachment is the message as received, header
 *   and all, as a message/rfc822 part (RFC 2046 5.2.1: never base64 or
 *   quoted-printable, so 8bit when it has 8-bit octets). Its Subject is the
 *   script's, else the original's with "Fwd: " before it. nodemailer's
 *   MailComposer writes the MIME structure and encodes the text and Subject.
 * - the report of the recipients a message's each_rcpt phase refused when
 *   it was accepted for others (src/session/message-phases.ts): an RFC 3464
 *   DSN (dsn.ts) from the null sender to the envelope sender, as Momentum
 *   sends one for "multi-recipient policy rejections"
 *   (3-reference-conf-ref-generate-bounces-for-multi-recipient-policy-rejections.md).
 */
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { OutgoingMail } from '../session/decide.js';
import type { NewEntry } from './queue-new-entry.js';
import { parseMessage } from '../sieve/runtime/message.js';
import { decodedHeaderStart } from '../sieve/runtime/rfc2047.js';
import { newMessageId, rfc5322Date } from './received.js';
import { composeDsn, dsnRecipient } from './dsn.js';

export interface ScriptMailContext {
  /** Our name, for Message-ID and the From of a forward from the null sender. */
  hostname: string;
  /** The message in the transaction, as received: what ec_forward attaches. */
  original: Buffer | undefined;
  /** The transaction that sent them, for the queue's records. */
  transaction?: string;
}

/** Queue entries for a phase's script mail, in the order the scripts took them. */
export async function composeScriptMail(mails: readonly OutgoingMail[], ctx: ScriptMailContext, now = new Date()): Promise<NewEntry[]> {
  const entries: NewEntry[] = [];
  const common = ctx.transaction ? { transaction: ctx.transaction } : {};
  for (const m of mails) {
    if (!m.to.length) continue;
    if (m.type === 'dsn') {
      entries.push(policyDsn(m, ctx, now));
      continue;
    }
    if (m.type === 'generate_mail') {
      entries.push({ kind: 'generated', from: m.from, recipients: m.to.map((address) => ({ address })), message: rawMessage(m.text, ctx.hostname, now), ...common });
      continue;
    }
    if (!ctx.original) throw new Error('ec_forward: the message to forward is not at hand');
    for (const to of m.to) {
      const message = await forwardMessage(m, to, ctx.original, ctx.hostname, now);
      entries.push({ kind: 'forward', from: m.from, recipients: [{ address: to }], message, ...common });
    }
  }
  return entries;
}

/** generate_mail_raw's text as a message: CRLF line ends, and a Date and Message-ID when it has none. */
export function rawMessage(text: string, hostname: string, now: Date): Buffer {
  let crlf = text.replace(/\r?\n/g, '\r\n');
  if (!crlf.endsWith('\r\n')) crlf += '\r\n';
  const end = crlf.startsWith('\r\n') ? 0 : crlf.indexOf('\r\n\r\n');
  const head = end < 0 ? crlf : crlf.slice(0, end + 2);
  let added = '';
  if (!/^date[ \t]*:/im.test(head)) added += `Date: ${rfc5322Date(now)}\r\n`;
  if (!/^message-id[ \t]*:/im.test(head)) added += `Message-ID: ${newMessageId(hostname, 'generated')}\r\n`;
  // A text that is all header, without the empty line that ends it, still gets one (RFC 5322 2.1).
  return Buffer.from(added + crlf + (end < 0 ? '\r\n' : ''), 'utf8');
}

/**
 * The original's Subject, unfolded and decoded (RFC 2047), or undefined: read
 * from its header section alone, and only its start decoded, as a vacation
 * reply's (a Subject of megabytes must not hold the event loop).
 */
export function originalSubject(original: Buffer): string | undefined {
  const crlf = original.indexOf('\r\n\r\n');
  const lf = original.indexOf('\n\n');
  const end = crlf < 0 ? lf : lf < 0 ? crlf : Math.min(crlf, lf);
  const head = original.subarray(0, end < 0 ? original.length : end + 1).toString('utf8');
  const value = parseMessage(head).headers.find((h) => h.lname === 'subject')?.value;
  return value === undefined ? undefined : decodedHeaderStart(value, SUBJECT_KEPT);
}

/** Characters of the original Subject a forward's own keeps. */
const SUBJECT_KEPT = 256;

async function forwardMessage(m: OutgoingMail, to: string, original: Buffer, hostname: string, now: Date): Promise<Buffer> {
  const subject = m.subject ?? `Fwd: ${originalSubject(original) ?? ''}`.trimEnd();
  const eightBit = original.some((octet) => octet > 0x7f);
  const composer = new MailComposer({
    // A forward from the null sender still needs an author (RFC 5322 3.6.2).
    from: m.from || `MAILER-DAEMON@${hostname}`,
    to,
    subject,
    text: m.text,
    date: now,
    messageId: newMessageId(hostname, 'forward'),
    attachments: [{ content: original, contentType: 'message/rfc822', contentTransferEncoding: eightBit ? '8bit' : '7bit', contentDisposition: 'inline' }],
  });
  return composer.compile().build();
}

/**
 * The report of the recipients each_rcpt refused: each one "failed", its
 * status from the reply (a 4xx keeps its 4.x.x status: the client was told
 * 250 for the message, so nothing will try that recipient again), from the
 * null sender (RFC 5321 4.5.5), as a bounce entry is.
 */
function policyDsn(m: OutgoingMail, ctx: ScriptMailContext, now: Date): NewEntry {
  const at = now.getTime();
  const recipients = (m.refused ?? []).map((r) => ({ ...dsnRecipient(r.address, r.reply, undefined, at), status: statusOfRefusal(r.reply) }));
  const queueId = m.about ?? ctx.transaction ?? 'unknown';
  const message = composeDsn({ reportingMta: ctx.hostname, to: m.to[0] ?? '', queueId, arrivalDate: now, recipients, original: ctx.original ?? Buffer.alloc(0), now });
  return { kind: 'bounce', from: '', recipients: m.to.map((address) => ({ address })), message, ...(ctx.transaction ? { transaction: ctx.transaction } : {}), ...(m.about ? { about: m.about } : {}) };
}

/** RFC 3463: the reply's enhanced code, else its class (a policy refusal without one is 5.7.1 or 4.7.1, RFC 3463 3.8). */
function statusOfRefusal(reply: { code: number; enhanced?: string }): string {
  if (reply.enhanced && /^[45]\.\d{1,3}\.\d{1,3}$/.test(reply.enhanced)) return reply.enhanced;
  return reply.code >= 500 ? '5.7.1' : '4.7.1';
}
