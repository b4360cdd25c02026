/**
 * Executing a result the way Pigeonhole's testsuite does: stores need an
 * existing mailbox, redirects and rejects become outgoing messages that
 * test_message :smtp can open. The SMTP server executes results its own
 * way; this is the testsuite's.
 */
import { formatAddress, parseEnvelopePath } from '../runtime/address.js';
import type { Action, ActionDef } from '../action.js';
import { keepAction, redirectAction, storeAction } from '../extensions/core-actions.js';
import { erejectAction, rejectAction } from '../extensions/reject.js';
import { vacationAction } from '../extensions/vacation.js';
import { notifyAction } from '../extensions/enotify.js';
import { composeNotifications } from '../notify-out.js';
import { normalizeMailbox, type SieveResult } from '../runtime/result.js';
import type { Runtime } from '../runtime/runtime.js';
import type { TestsuiteState } from './state.js';
import { composeRedirect } from '../redirect-out.js';
import { composeVacationReply } from '../vacation-reply.js';

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
  const redirect = (a: Action) => {
    const msg = a.message ?? rt.message;
    const out = msg && composeRedirect(a.target!, msg, rt.envelope, (n) => st.config.get(n));
    if (out) st.sent.push(out);
  };
  const reject = (a: Action) => {
    // RFC 5429 2.1: the rejection goes to the envelope sender, never to the null sender.
    if (!sender) return;
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
  };
  const vacation = (a: Action) => {
    const msg = a.message ?? rt.message;
    const reply = msg && composeVacationReply(a.data ?? {}, msg, rt.envelope, (n) => st.config.get(n));
    if (reply) st.sent.push(reply);
  };
  const keep = (a: Action) => store(a.target ?? 'INBOX', a.data?.create === true, a.flags ?? [], a.message?.raw ?? finalMessage);
  // How the testsuite carries out each kind of action, by its definition; others do nothing here.
  const executors = new Map<ActionDef, (a: Action) => void>([
    [keepAction, keep],
    [storeAction, keep],
    [redirectAction, redirect],
    [rejectAction, reject],
    [erejectAction, reject],
    [vacationAction, vacation],
  ]);
  // Each action is carried out once: a result executed again (scripts run in sequence) does only what is new.
  const fresh = result.actions.filter((a) => !a.executed);
  for (const a of fresh) executors.get(a.def)?.(a);
  for (const a of fresh) a.executed = true;
  // A run's notifications are composed together: a recipient is notified once per run.
  const notifies = fresh.filter((a) => a.def === notifyAction);
  const about = notifies[0]?.message ?? rt.message;
  if (notifies.length && about) {
    st.sent.push(...composeNotifications(notifies.map((a) => a.data ?? {}), about, rt.envelope, { setting: (n) => st.config.get(n), postmaster: 'postmaster@example.com' }));
  }
  // A failed execution falls back to keeping the message as it arrived,
  // without the script's header edits (Pigeonhole's failure implicit keep).
  if (errors.length) store('INBOX', false, [], rt.initialMessage?.raw ?? finalMessage);
  else if (result.implicitKeep) store('INBOX', false, keepFlags);
  return errors;
}
