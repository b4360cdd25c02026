/**
 * The messages recorded notify actions stand for (RFC 5435 3, mailto
 * method RFC 5436), as a host sends them. Pure, like vacation-reply.ts: the
 * host passes the actions of one run, the triggering message, its envelope
 * and its settings, and sends what comes back, one message per recipient.
 *
 * The rules applied (RFC 5436 2.3-2.7):
 * - no notification about a message whose Auto-Submitted field is other
 *   than "no" (a notification loop), and every notification carries
 *   `Auto-Submitted: auto-notified` (RFC 3834 5, as RFC 5436 updates it);
 * - From is :from, else the user's address, else the host's postmaster;
 * - Subject is :message, else the URI's subject, else one naming the
 *   triggering message's; at most 256 characters;
 * - To and Cc list the URI's recipients; a recipient already notified by
 *   this run (in this or an earlier action) is not notified again;
 * - header fields the URI may not set (the origin, identity, trace and MIME
 *   fields, and those the notification itself sets) are ignored, others
 *   are copied (RFC 6068 7: a URI must not forge where mail comes from);
 * - :importance becomes X-Priority and Importance, as mail clients read them.
 *
 * The envelope sender follows sieve_notify_mailto_envelope_from ("sender",
 * "recipient", "orig_recipient", "user_email", "<address>" or "<>"), else
 * :from, else the host's postmaster; a message from the null sender gets
 * notifications from the null sender (RFC 5321 4.5.5: no mail back to it).
 */
import { cutWithEllipsis, MAX_SUBJECT } from './composed-text.js';
import { type Address, formatAddress, parseAddressList, parseEnvelopePath } from './runtime/address.js';
import { parseMailto, type MailtoRecipient } from './runtime/mailto-uri.js';
import { headerValues, type SieveMessage } from './runtime/message.js';
import { decodedHeaderStart, encodedWords } from './runtime/rfc2047.js';
import type { Envelope } from './runtime/host.js';
import { fieldText } from './extensions/editheader.js';
import type { OutgoingMessage } from './redirect-out.js';

export interface NotifyHostOptions {
  /** Settings by Pigeonhole's names (sieve_notify_mailto_envelope_from, sieve_user_email). */
  setting?: (name: string) => string | undefined;
  /** The host's postmaster address: the default sender. */
  postmaster: string;
  /** Names the software in X-Sieve (as Pigeonhole's notifications do). */
  product?: string;
}

/** Fields a notification sets itself or a URI must not forge (RFC 5436 2.7, RFC 6068 7). */
const RESERVED = new Set([
  'from', 'sender', 'to', 'cc', 'bcc', 'date', 'message-id', 'auto-submitted', 'precedence', 'received', 'return-path',
  'delivered-to', 'mime-version', 'x-sieve', 'x-priority', 'importance', 'subject', 'body',
]);
const reserved = (name: string) => RESERVED.has(name) || name.startsWith('resent-') || name.startsWith('content-') || name.startsWith('list-');

/** RFC 5435 3.3 importance as the de-facto X-Priority / Importance fields. */
const PRIORITY: Record<string, [string, string]> = { '1': ['1 (Highest)', 'high'], '2': ['3 (Normal)', 'normal'], '3': ['5 (Lowest)', 'low'] };

const ascii = (s: string) => /^[\x20-\x7e]*$/.test(s);

/** A mailbox as a header shows it, its display name encoded when it is not ASCII (RFC 2047 5). */
function mailboxText(text: string): string {
  if (ascii(text)) return text;
  const m = /^\s*(.*?)\s*(<[^>]*>)\s*$/.exec(text);
  if (!m || !ascii(m[2]!)) return text;
  return `${encodedWords(m[1]!.replace(/^"|"$/g, ''))} ${m[2]}`;
}

/** One line (runs of CR and LF made a space) of at most `max` characters, an ellipsis ending it when it was cut. */
const cut = (text: string, max = MAX_SUBJECT): string => cutWithEllipsis(text.replace(/[\r\n]+/g, ' '), max);

const norm = (path: string | undefined) => {
  const a = path === undefined ? undefined : parseEnvelopePath(path);
  return a ? formatAddress(a) : undefined;
};

function envelopeFrom(sender: Address | null | undefined, from: Address | undefined, envelope: Envelope, o: NotifyHostOptions): string {
  if (!sender) return '';
  const how = (o.setting?.('sieve_notify_mailto_envelope_from') ?? '').trim().toLowerCase();
  if (how === 'sender') return formatAddress(sender);
  if (how === 'recipient') return norm(envelope.to[0]) ?? '';
  if (how === 'orig_recipient') return norm(envelope.origTo) ?? norm(envelope.to[0]) ?? '';
  if (how === 'user_email') return norm(o.setting?.('sieve_user_email')) ?? norm(envelope.to[0]) ?? '';
  if (how.startsWith('<')) return norm(how) ?? '';
  return from ? formatAddress(from) : o.postmaster;
}

/** RFC 5322 2.1.1: a line of a message is at most 998 characters. */
const MAX_LINE = 998;

function defaultBody(m: SieveMessage): string {
  // Only what a line can hold is decoded: not a 10 MB field, whole, on the event loop.
  const line = (n: string, label: string) => cut(`${label}: ${decodedHeaderStart(headerValues(m, n)[0] ?? '', MAX_LINE)}`, MAX_LINE);
  return ['A message arrived that a Sieve rule notifies about.', '', line('from', 'From'), line('subject', 'Subject'), line('date', 'Date'), ''].join('\r\n');
}

/** The notification messages for a run's notify actions (their data), or none when the message must not be notified about. */
export function composeNotifications(actions: ReadonlyArray<Record<string, unknown>>, message: SieveMessage, envelope: Envelope, o: NotifyHostOptions): OutgoingMessage[] {
  if (headerValues(message, 'auto-submitted').some((v) => v.trim().toLowerCase() !== 'no')) return [];
  const sender = parseEnvelopePath(envelope.from);
  const user = norm(o.setting?.('sieve_user_email')) ?? norm(envelope.to[0]);
  const notified = new Set<string>();
  const out: OutgoingMessage[] = [];
  for (const d of actions) {
    const parsed = parseMailto(String(d.method ?? ''));
    if (!parsed.ok) continue;
    const uri = parsed.uri;
    const fresh: MailtoRecipient[] = [];
    for (const r of uri.recipients) {
      const key = formatAddress(r.address).toLowerCase();
      if (notified.has(key)) continue;
      notified.add(key);
      fresh.push(r);
    }
    if (!fresh.length) continue;
    const fromText = typeof d.from === 'string' ? d.from : undefined;
    const fromAddress = fromText === undefined ? undefined : parseAddressList(fromText)?.[0];
    const [xPriority, importance] = PRIORITY[String(d.importance ?? '2')] ?? PRIORITY['2']!;
    // What cut() keeps: not a 10 MB Subject decoded whole.
    const original = decodedHeaderStart(headerValues(message, 'subject')[0] ?? '', MAX_SUBJECT);
    const subject = cut(typeof d.message === 'string' ? d.message : (uri.subject ?? `New mail: ${original}`));
    const list = (field: MailtoRecipient['field']) => fresh.filter((r) => r.field === field).map((r) => mailboxText(r.text));
    const lines = [`From: ${fromText !== undefined ? mailboxText(fromText) : `<${user ?? o.postmaster}>`}`];
    if (list('to').length) lines.push(`To: ${list('to').join(', ')}`);
    if (list('cc').length) lines.push(`Cc: ${list('cc').join(', ')}`);
    lines.push(
      fieldText('Subject', subject),
      `Auto-Submitted: auto-notified${user ? `; owner-email="${user}"` : ''}`,
      `X-Sieve: ${o.product ?? 'smtp-cbv'}`,
      `X-Priority: ${xPriority}`,
      `Importance: ${importance}`,
    );
    for (const h of uri.headers) if (!reserved(h.name.toLowerCase())) lines.push(fieldText(h.name, h.value));
    const body = (uri.body ?? defaultBody(message)).replace(/\r?\n/g, '\r\n');
    lines.push('MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', body.endsWith('\r\n') ? body : `${body}\r\n`);
    const text = lines.join('\r\n');
    const from = envelopeFrom(sender, fromAddress, envelope, o);
    for (const r of fresh) out.push({ envelope: { from, to: [formatAddress(r.address)] }, text });
  }
  return out;
}
