/**
 * Executing a result the way Pigeonhole's testsuite does: stores need an
 * existing mailbox, redirects and rejects become outgoing messages that
 * test_message :smtp can open. The SMTP server executes results its own
 * way; this is the testsuite's.
 */
import { formatAddress, parseEnvelopePath } from '../runtime/address.js';
import { normalizeMailbox, type SieveResult } from '../runtime/result.js';
import type { Runtime } from '../runtime/runtime.js';
import type { SentMessage, TestsuiteState } from './state.js';
import { headerValues } from '../runtime/message.js';
import { parseAddressList } from '../runtime/address.js';
import libmime from 'libmime';

/**
 * `rt` is the runtime whose message and envelope the result acts on;
 * `keepFlags` the flags the implicit keep stores with (RFC 5232 5).
 */
export function executeResult(result: SieveResult, rt: Runtime, st: TestsuiteState, keepFlags: string[] = []): string[] {
  const errors: string[] = [];
  const sender = parseEnvelopePath(rt.envelope.from);
  // Each action delivers the message as it was when taken; the implicit keep the final one.
  const finalMessage = rt.message?.raw ?? '';
  const store = (name: string, create = false, flags: string[] = [], original = finalMessage) => {
    const box = normalizeMailbox(name);
    // Hierarchy separator "/": an empty level is not a valid name.
    if (/(^|\/)(\/|$)/.test(box)) return errors.push(`failed to store into mailbox '${box}': Invalid mailbox name`);
    if (create) st.mailboxes.add(box);
    if (!st.mailboxes.has(box)) return errors.push(`failed to store into mailbox '${box}': Mailbox doesn't exist: ${box}`);
    const list = st.stored.get(box) ?? [];
    // Dovecot's mail store adds this keyword to messages without attachments;
    // the suite's flag counts include it.
    const stored = /^content-type:\s*multipart\/mixed/im.test(original) ? flags : [...flags, '$HasNoAttachment'];
    list.push({ text: original, flags: stored });
    st.stored.set(box, list);
  };
  for (const a of result.actions) {
    switch (a.type) {
      case 'keep':
      case 'store':
        store(a.target ?? 'INBOX', a.data?.create === true, a.flags ?? [], a.message?.raw ?? finalMessage);
        break;
      case 'redirect':
        st.sent.push({ envelope: { from: rt.envelope.from, to: [a.target!] }, text: a.message?.raw ?? finalMessage });
        break;
      case 'reject':
      case 'ereject': {
        // RFC 5429 2.1: the rejection goes to the envelope sender, never to the null sender.
        if (!sender) break;
        const to = formatAddress(sender);
        const reason = String(a.target ?? '');
        const text = [
          'From: Postmaster <postmaster@example.net>',
          `To: <${to}>`,
          'Subject: Automatically rejected mail',
          'Auto-Submitted: auto-replied (rejected)',
          'MIME-Version: 1.0',
          'Content-Type: text/plain; charset=utf-8',
          '',
          `Your message to <${rt.envelope.to[0] ?? ''}> was automatically rejected:`,
          reason,
          '',
        ].join('\r\n');
        st.sent.push({ envelope: { from: '', to: [to] }, text });
        break;
      }
      case 'vacation': {
        const reply = vacationReply(a.data ?? {}, rt);
        if (reply) st.sent.push(reply);
        break;
      }
      default:
        break;
    }
  }
  if (result.implicitKeep) store('INBOX', false, keepFlags);
  return errors;
}

/** Headers that say who a message was sent to (RFC 5230 4.5). */
const RECIPIENT_HEADERS = ['to', 'cc', 'bcc', 'resent-to', 'resent-cc', 'resent-bcc'];

/** RFC 2047-encodes a header text when it is not ASCII. */
const encodeText = (s: string) => (/^[\x20-\x7e]*$/.test(s) ? s : libmime.encodeWords(s, 'Q', 52, 'utf-8'));

/**
 * RFC 5230 4.5-4.6: a vacation reply goes to the envelope sender (never the
 * null sender, never in reply to an auto-submitted message), only when one
 * of the user's addresses is in a recipient header; it comes from that
 * address (or :from) and has "Auto: " before the subject.
 */
function vacationReply(d: Record<string, unknown>, rt: Runtime): SentMessage | null {
  const sender = parseEnvelopePath(rt.envelope.from);
  const msg = rt.message;
  if (!sender || !msg) return null;
  const auto = headerValues(msg, 'auto-submitted')[0]?.trim().toLowerCase();
  if (auto && auto !== 'no') return null;
  const mine = [...rt.envelope.to.map((t) => parseEnvelopePath(t)), ...((d.addresses as string[] | undefined) ?? []).flatMap((x) => parseAddressList(x) ?? [])]
    .filter((x): x is NonNullable<typeof x> => !!x && x.domain !== '')
    .map(formatAddress);
  const present = RECIPIENT_HEADERS.flatMap((h) => headerValues(msg, h)).flatMap((v) => parseAddressList(v) ?? []).map(formatAddress);
  const me = mine.find((m) => present.some((p) => p.toLowerCase() === m.toLowerCase()));
  if (!me) return null;
  const original = headerValues(msg, 'subject')[0]?.trim() ?? '';
  const subject = (d.subject as string | undefined) ?? `Auto: ${libmime.decodeWords(original)}`;
  const from = (d.from as string | undefined) ?? me;
  const m = /^(.*?)\s*<([^>]*)>\s*$/.exec(from);
  const fromHeader = m && m[1] ? `${encodeText(m[1].replace(/^"|"$/g, ''))} <${m[2]}>` : from;
  const to = formatAddress(sender);
  const text = [
    `From: ${fromHeader}`,
    `To: <${to}>`,
    `Subject: ${encodeText(subject)}`,
    'Auto-Submitted: auto-replied (vacation)',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    String(d.reason ?? ''),
    '',
  ].join('\r\n');
  return { envelope: { from: '', to: [to] }, text };
}
