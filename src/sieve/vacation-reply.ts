/**
 * The reply a recorded vacation action stands for (RFC 5230 4-5), as a
 * host sends it: whether to reply at all, from which address, to whom,
 * with which subject and threading headers. Pure: the host passes the
 * message, the envelope and its settings (Pigeonhole's names), and sends
 * what comes back. The interpreter only records the action.
 */
import libmime from 'libmime';
import { cutWithEllipsis, MAX_SUBJECT } from './composed-text.js';
import { type Address, formatAddress, parseAddressList, parseEnvelopePath, quotedString } from './runtime/address.js';
import { headerValues, type SieveMessage } from './runtime/message.js';
import { decodedHeaderStart, encodedWords } from './runtime/rfc2047.js';
import type { Envelope } from './runtime/host.js';

export interface VacationReply {
  envelope: Envelope;
  text: string;
}

/** RFC 2369 list headers: no replies to mailing lists (RFC 5230 4.6). */
const LIST_HEADERS = ['list-id', 'list-owner', 'list-subscribe', 'list-post', 'list-unsubscribe', 'list-help', 'list-archive'];
/** Where the user's own address shows the message was sent to them (RFC 5230 4.5). */
const RECIPIENT_HEADERS = ['to', 'cc', 'bcc', 'resent-to', 'resent-cc', 'resent-bcc'];
/** Where the full form of the reply's recipient is found. */
const SENDER_HEADERS = ['sender', 'resent-from', 'from'];

/**
 * Header fields longer than this, together, are not parsed for addresses:
 * the reply is composed after the run, on the event loop and outside any
 * budget, and a To of 10 MB took 1.0-1.1 s to parse, a From 1.4-1.8 s, in
 * which no other session was served. Mail addressed that widely is bulk
 * mail, which RFC 5230 4.6 would not answer anyway: such recipient fields
 * count as not naming the user (RFC 5230 4.5), and such a From gives the
 * reply no display name.
 */
const PARSE_LIMIT = 64 * 1024;

const same = (a: Address, b: Address) => formatAddress(a).toLowerCase() === formatAddress(b).toLowerCase();

/** RFC 5230 4.6: replies never go to list robots and mailer daemons. */
function isSystemAddress(a: Address): boolean {
  const l = a.local.toLowerCase();
  return l === 'mailer-daemon' || l === 'listserv' || l === 'majordomo' || l.includes('-request') || l.startsWith('owner-');
}

const encode = (s: string) => (/^[\x20-\x7e]*$/.test(s) ? s : encodedWords(s));

function mailboxText(a: { name?: string; address: Address }): string {
  const addr = formatAddress(a.address);
  if (!a.name) return `<${addr}>`;
  const name = /^[\x20-\x7e]*$/.test(a.name) ? quotedString(a.name) : encode(a.name);
  return `${name} <${addr}>`;
}

/** The display name of the mailbox in a header that is this address, if any. */
function fullRecipient(m: SieveMessage, to: Address, ignoreEnvelope: boolean): { name?: string; address: Address } {
  for (const h of SENDER_HEADERS) {
    const raw = headerValues(m, h)[0];
    if (raw === undefined || raw.length > PARSE_LIMIT) continue;
    for (const part of raw.split(',')) {
      const list = parseAddressList(part);
      const a = list?.[0];
      if (!a || a.domain === '') continue;
      if (ignoreEnvelope || same(a, to)) {
        const name = /^\s*"?([^"<]*?)"?\s*</.exec(part)?.[1]?.trim();
        return { name: name ? libmime.decodeWords(name) : undefined, address: a };
      }
    }
  }
  return { address: to };
}

/** RFC 5230 4.5: the subject; Pigeonhole's defaults and template for the rest. */
function subjectFor(d: Record<string, unknown>, m: SieveMessage, setting: (n: string) => string | undefined): string {
  const given = d.subject as string | undefined;
  let subject: string;
  if (given) subject = given;
  else {
    const original = headerValues(m, 'subject')[0];
    const template = setting('sieve_vacation_default_subject_template') ?? '';
    if (original === undefined) subject = setting('sieve_vacation_default_subject') || 'Automated reply';
    else {
      // What the cut below keeps (a template adds to it, never takes away): not a 10 MB Subject decoded whole.
      const decoded = decodedHeaderStart(original, MAX_SUBJECT);
      subject = template ? template.replace(/%\{subject\}|%\$/g, decoded) : `Auto: ${decoded}`;
    }
  }
  return cutWithEllipsis(subject);
}

/**
 * The reply to send for a vacation action, or null when none must be sent:
 * null sender or recipient, replying to oneself, mailing lists, bulk or
 * auto-submitted mail, Microsoft's X-Auto-Response-Suppress, system
 * addresses, and mail not addressed to the user (RFC 5230 4.5-4.6).
 */
export function composeVacationReply(
  d: Record<string, unknown>,
  message: SieveMessage,
  envelope: Envelope,
  setting: (name: string) => string | undefined = () => undefined,
): VacationReply | null {
  const yes = (n: string, dflt: boolean) => {
    const v = setting(n);
    return v === undefined ? dflt : /^(yes|true|1)$/i.test(v);
  };
  const sender = parseEnvelopePath(envelope.from);
  const recipient = parseEnvelopePath(envelope.to[0] ?? '');
  if (!sender || !recipient) return null;
  const alternatives = ((d.addresses as string[] | undefined) ?? []).flatMap((x) => parseAddressList(x) ?? []);
  if (same(sender, recipient) || alternatives.some((a) => same(a, sender))) return null;
  if (LIST_HEADERS.some((h) => headerValues(message, h).length > 0)) return null;
  if (headerValues(message, 'auto-submitted').some((v) => v.trim().toLowerCase() !== 'no')) return null;
  if (headerValues(message, 'precedence').some((v) => ['junk', 'bulk', 'list'].includes(v.trim().toLowerCase()))) return null;
  const suppress = headerValues(message, 'x-auto-response-suppress').flatMap((v) => v.split(',').map((f) => f.trim().toLowerCase()));
  if (suppress.includes('all') || suppress.includes('oof')) return null;
  if (isSystemAddress(sender)) return null;

  const origRecipient = yes('sieve_vacation_use_original_recipient', false) && envelope.origTo ? parseEnvelopePath(envelope.origTo) : null;
  const userEmail = setting('sieve_user_email') ? parseEnvelopePath(setting('sieve_user_email')!) : null;
  const recipientFields = RECIPIENT_HEADERS.flatMap((h) => headerValues(message, h));
  const listed = recipientFields.reduce((n, v) => n + v.length, 0) > PARSE_LIMIT ? [] : recipientFields.flatMap((v) => parseAddressList(v) ?? []);
  const inHeaders = (a: Address | null | undefined) => !!a && listed.some((l) => same(l, a));
  // Which of the user's addresses the message was sent to decides the reply's From.
  let me: Address | undefined = [recipient, origRecipient, ...alternatives, userEmail].find((a): a is Address => inHeaders(a));
  let smtpFrom: Address | undefined = me;
  if (me && alternatives.some((a) => same(a, me!))) smtpFrom = origRecipient ?? recipient;
  if (!me) {
    if (yes('sieve_vacation_check_recipient', true)) return null;
    smtpFrom = origRecipient ?? recipient;
    me = userEmail ?? smtpFrom;
  }

  const to = fullRecipient(message, sender, yes('sieve_vacation_to_header_ignore_envelope', false));
  // :from as the script wrote it, its phrase encoded when it is not ASCII (RFC 2047 5).
  const from = (d.from as string | undefined) || `<${formatAddress(me)}>`;
  const phrase = /^\s*([^<]*?)\s*(<[^>]*>)\s*$/.exec(from);
  const fromHeader = /^[\x20-\x7e]*$/.test(from) || !phrase ? from : `${encode(phrase[1]!.replace(/^"|"$/g, ''))} ${phrase[2]}`;
  const messageId = headerValues(message, 'message-id')[0]?.trim();
  const references = headerValues(message, 'references')[0]?.trim();
  const lines = [`From: ${fromHeader}`, `To: ${mailboxText(to)}`, `Subject: ${encode(subjectFor(d, message, setting))}`];
  if (messageId) {
    lines.push(`In-Reply-To: ${messageId}`, `References: ${references ? `${references} ${messageId}` : messageId}`);
  } else if (references) lines.push(`References: ${references}`);
  lines.push(
    'Auto-Submitted: auto-replied (vacation)',
    'Precedence: bulk',
    'X-Auto-Response-Suppress: All',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    String(d.reason ?? ''),
    '',
  );
  // RFC 5230 4.3: the reply's envelope sender is null, unless the host sends from the recipient.
  const envFrom = yes('sieve_vacation_send_from_recipient', false) && smtpFrom ? formatAddress(smtpFrom) : '';
  return { envelope: { from: envFrom, to: [formatAddress(sender)] }, text: lines.join('\r\n') };
}
