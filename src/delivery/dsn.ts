/**
 * Delivery status notifications: RFC 3464 `message/delivery-status` inside
 * an RFC 6522 `multipart/report`, with the original message's header
 * section as `text/rfc822-headers`. Sent from the null sender (RFC 5321
 * 4.5.5) to the envelope sender; marked `Auto-Submitted: auto-replied`
 * (RFC 3834 5) so that vacation responders leave it alone.
 */
import { randomBytes } from 'node:crypto';
import type { Reply } from '../session/reply.js';
import { rfc5322Date } from './received.js';

export interface DsnRecipient {
  address: string;
  action: 'failed' | 'delayed';
  /** RFC 3463 status, e.g. 5.1.1. */
  status: string;
  /** The next hop that answered (a host name or address), when one did. */
  remoteMta?: string;
  /** The next hop's reply (Diagnostic-Code: smtp; ...), or our own reason. */
  reply?: Reply;
  lastAttempt?: Date;
  /** For delayed: until when we keep trying. */
  willRetryUntil?: Date;
}

export interface DsnInput {
  reportingMta: string;
  /** The envelope sender of the original: who gets this report. */
  to: string;
  queueId: string;
  arrivalDate: Date;
  recipients: DsnRecipient[];
  /** The original message (only its header section is returned). */
  original: Buffer;
  now?: Date;
}

/** Header field text from anything a remote said: printable ASCII on one line. */
export function headerSafe(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/[^\x20-\x7e]/g, '?').trim();
}

/** RFC 3463 status of a reply: its enhanced code, else the class of its basic code. */
export function statusOf(reply: Reply | undefined, fallback = '4.0.0'): string {
  if (reply?.enhanced && /^[245]\.\d{1,3}\.\d{1,3}$/.test(reply.enhanced)) return reply.enhanced;
  if (reply && reply.code >= 500) return '5.0.0';
  if (reply && reply.code >= 400) return '4.0.0';
  return fallback;
}

/** RFC 3464 2.3.6: the reply as the remote gave it, code first. */
export function diagnosticCode(reply: Reply): string {
  return headerSafe(`${reply.code}${reply.enhanced ? ` ${reply.enhanced}` : ''} ${reply.text}`);
}

/**
 * The most of an original that is read for its header section: a header
 * section longer than this is returned cut (as HEAD_LIMIT bounds the one
 * a received message keeps apart, src/session/message-source.ts).
 */
export const HEADER_SECTION_LIMIT = 256 * 1024;

/** The original's header section (up to the first empty line). */
export function headerSection(message: Buffer): string {
  const text = message.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  const head = m ? text.slice(0, m.index) : text;
  return head.replace(/\r?\n/g, '\r\n');
}

const addressType = (a: string) => (/^[\x20-\x7e]*$/.test(a) ? `rfc822; ${a}` : `utf-8; ${headerSafe(a)}`);

export function composeDsn(input: DsnInput): Buffer {
  const now = input.now ?? new Date();
  const boundary = `=_smtp-cbv-dsn-${randomBytes(8).toString('hex')}`;
  const failed = input.recipients.some((r) => r.action === 'failed');
  const subject = failed ? 'Undelivered Mail Returned to Sender' : 'Delayed Mail (still being retried)';
  const human = [
    `This is the mail system at host ${input.reportingMta}.`,
    '',
    failed
      ? 'Your message could not be delivered to one or more recipients. It is attached below.'
      : 'Your message could not be delivered yet to one or more recipients. Delivery will be retried; you need not send it again.',
    '',
    ...input.recipients.map((r) => `<${headerSafe(r.address)}>: ${r.reply ? `${r.remoteMta ? `host ${headerSafe(r.remoteMta)} said: ` : ''}${diagnosticCode(r.reply)}` : r.status}`),
    '',
  ];
  const perMessage = [
    `Reporting-MTA: dns; ${input.reportingMta}`,
    `X-Smtp-Cbv-Queue-ID: ${input.queueId}`,
    `Arrival-Date: ${rfc5322Date(input.arrivalDate)}`,
  ];
  const perRecipient = input.recipients.map((r) => {
    const f = [`Final-Recipient: ${addressType(r.address)}`, `Action: ${r.action}`, `Status: ${r.status}`];
    if (r.remoteMta) f.push(`Remote-MTA: dns; ${headerSafe(r.remoteMta)}`);
    if (r.reply) f.push(`Diagnostic-Code: smtp; ${diagnosticCode(r.reply)}`);
    if (r.lastAttempt) f.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttempt)}`);
    if (r.willRetryUntil) f.push(`Will-Retry-Until: ${rfc5322Date(r.willRetryUntil)}`);
    return f.join('\r\n');
  });
  const text = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`,
    `To: <${headerSafe(input.to)}>`,
    `Subject: ${subject}`,
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: <${input.queueId}.${randomBytes(4).toString('hex')}@${input.reportingMta}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated delivery status notification.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    ...human,
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    perMessage.join('\r\n'),
    '',
    perRecipient.join('\r\n\r\n'),
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    headerSection(input.original),
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
  return Buffer.from(text, 'latin1');
}

/** A failed recipient as a report names it, from its last reply and hop (`name[address]:port`). */
export function dsnRecipient(address: string, reply: Reply | undefined, hop: string | undefined, now: number): DsnRecipient {
  return {
    address,
    action: 'failed',
    status: statusOf(reply, '5.0.0'),
    ...(hop && hop !== 'maildir' ? { remoteMta: remoteMta(hop) } : {}),
    ...(reply ? { reply } : {}),
    lastAttempt: new Date(now),
  };
}

/** Remote-MTA (RFC 3464 2.3.5) of a hop written `name[address]:port` or `[address]:port`: the name, else the address. */
function remoteMta(hop: string): string {
  const m = /^([^[]*)\[([^\]]*)\]/.exec(hop);
  return m ? m[1] || m[2]! : hop;
}
