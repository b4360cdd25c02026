/**
 * What Sieve actions mean at SMTP time (docs/server.md, "What actions mean
 * at SMTP time"). One place decides it, for every front door:
 *
 *   reject / ereject / ec_reject   550 5.7.1 <reason>; at connect 554, then close
 *   ec_action N text               reply N text (a 2xx text replaces the success reply)
 *   ec_disconnect N text           reply N text, then close
 *   ec_tarpit S                    wait S seconds before replying (bounded by the server)
 *   discard                        cancels the implicit keep, nothing more (RFC 5228 4.4)
 *   keep / implicit keep           store in INBOX
 *   fileinto "F"                   store in folder F
 *   redirect "A"                   deliver to A (the implicit keep stays with :copy)
 *   ec_header_add / _delete / _prefix / _postfix
 *                                  the header is edited when the message is stored
 *   ec_dkim_sign                   the message is DKIM-signed when it is stored, after the edits
 *   advertize_esmtp_capability / disable_esmtp_capability
 *                                  the connection's later EHLO answers offer the keyword / leave it out
 *   vacation                       no effect on the reply; the reply is sent when the message is stored
 *   notify                         no effect on the reply; the notifications are sent when the message is stored
 *   disclaimer_add                 the text parts are added to when the message is stored
 *   generate_mail_raw / ec_forward no effect on the reply; the new message is queued when the phase ends,
 *                                  whatever becomes of the message (docs/delivery.md)
 *   ec_set_routing_gateway G       no effect on the reply; the recipients' next hop when the message is queued
 *   ec_maildir A                   the message is written to A's Maildir instead of delivered, before the reply
 *   flags, ...                     recorded, no effect on the reply
 *
 * A phase's decision is "final" when a script took an action that decides
 * the message's fate (anything above but ec_tarpit, header edits and the
 * implicit keep): then the phase's `_phase2` script does not run.
 */
import type { Action } from '../sieve/index.js';
import type { DkimRequest } from '../sievepp/functions/dkim-params.js';
import type { DeliverBy } from './deliver-by.js';
import type { Disclaimer } from './disclaimers.js';
import type { HeaderEdit } from './header-edits.js';
import type { Phase } from './phases.js';
import { type Reply, replyFrom } from './reply.js';

/** Where a message goes, as far as one phase (or one recipient's phases) chose. */
export interface Choices {
  /** The implicit keep is still in force (RFC 5228 2.10.2). */
  implicitKeep: boolean;
  /** Explicit stores (keep is INBOX), in order. */
  folders: string[];
  redirects: string[];
  /**
   * What a redirect carries besides its address, by address: its delivery
   * deadline (RFC 6009 6, redirect-deliverby) and the message it forwards
   * when that is not the one delivered (RFC 5703 6: enclose does not change
   * what a redirect forwards).
   */
  redirectDetails: Record<string, RedirectDetails>;
  /** Sieve++ ec_header_add / ec_header_delete, applied when the message is stored. */
  headerEdits: HeaderEdit[];
  /** RFC 5230 vacation actions (their data): a store that sends mail composes the replies. */
  vacations: Array<Record<string, unknown>>;
  /** RFC 5435 notify actions (their data): sent like vacation replies, when the message is stored. */
  notifications: Array<Record<string, unknown>>;
  /** Sieve++ ec_rewrite_mailfrom: the envelope sender the message leaves with (the last one chosen). */
  mailFrom?: string;
  /** Sieve++ add_recipient: envelope recipients added to the message. */
  addRecipients: string[];
  /** Sieve++ disclaimer_add: texts for the message's text parts, applied when it is stored (disclaimers.ts); absent: none. */
  disclaimers?: Disclaimer[];
  /**
   * Sieve++ ec_set_routing_gateway: the gateway (`host[:port]`) the
   * recipients of these choices leave by, in place of their domain's route
   * (docs/delivery.md, "Routing"); the last one chosen wins.
   */
  gateway?: string;
  /** Sieve++ ec_dkim_sign: signatures made when the message is stored, after every header edit (dkim-signing.ts). */
  dkim?: DkimRequest[];
  /** Sieve++ ec_maildir: the per-user Maildirs (absolute directories) the message is written to, instead of the ordinary delivery. */
  maildirs?: string[];
}

export interface Decision extends Choices {
  /** The policy's reply: a refusal, or a 2xx text for the success reply; absent: the ordinary one. */
  reply?: Reply;
  disconnect: boolean;
  tarpitMs: number;
  /** A script decided: the phase's next script does not run. */
  final: boolean;
  /** Sieve++ advertize_esmtp_capability / disable_esmtp_capability, in the order taken: the connection's EHLO answers change. */
  esmtp?: EsmtpChange[];
  /** Sieve++ generate_mail_raw and ec_forward, in the order taken: new messages, sent when the phase ends. */
  outgoing?: OutgoingMail[];
}

/**
 * A new message a script asked for (sieve-ref-generate-mail-raw.md,
 * sieve-ref-ec-forward.md): not the message in the transaction, so it goes
 * whatever becomes of that one, as in Momentum, where the function sends it
 * when it is called.
 */
export interface OutgoingMail {
  /**
   * generate_mail_raw: `text` is the whole message; ec_forward: `text` is the body, the original attached;
   * dsn: the session's report of the recipients each_rcpt refused (`refused`, message-phases.ts), composed by the queue.
   */
  type: 'generate_mail' | 'forward' | 'dsn';
  /** The envelope sender; '' is the null sender. */
  from: string;
  to: string[];
  text: string;
  /** ec_forward: the Subject, else the original's with "Fwd: " before it. */
  subject?: string;
  /** dsn: the refused recipients with the replies each_rcpt gave them (RFC 3464 Status and Diagnostic-Code). */
  refused?: Array<{ address: string; reply: Reply }>;
  /** dsn: the queue id of the message accepted for the other recipients, which the report is about. */
  about?: string;
}

/** A change to the EHLO answer's extension lines (RFC 5321 4.1.1.1). */
export interface EsmtpChange {
  op: 'advertize' | 'disable';
  /** advertize: the line to offer (a keyword and its parameters); disable: the keyword whose lines go. */
  keyword: string;
}

export interface RedirectDetails {
  deliverBy?: DeliverBy;
  /** The raw message to forward, when it is not the message delivered. */
  forward?: string;
}

export const INBOX = 'INBOX';

export function noChoices(): Choices {
  return { implicitKeep: true, folders: [], redirects: [], headerEdits: [], vacations: [], notifications: [], addRecipients: [], redirectDetails: {} };
}

// One literal, no spread: this runs for every phase and every script run of every message.
export function emptyDecision(implicitKeep = true): Decision {
  return { implicitKeep, folders: [], redirects: [], headerEdits: [], vacations: [], notifications: [], addRecipients: [], redirectDetails: {}, disconnect: false, tarpitMs: 0, final: false };
}

/**
 * The decision of a run that took no action, and of a phase whose scripts
 * took none or that has no script: most phases of most messages. One
 * shared value, frozen to the bottom, instead of eight objects each time;
 * a decision is only ever read (mergeDecision and mergeChoices copy out of it).
 */
export const NOTHING_DECIDED: Decision = deepFreeze(emptyDecision());

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === 'object') Object.freeze(v);
  return Object.freeze(o);
}

/** True when these choices send the message nowhere: a discard (or a refusal's cancelled keep). */
export function dropsMessage(c: Choices): boolean {
  return !c.implicitKeep && c.folders.length === 0 && c.redirects.length === 0;
}

/** The header edit each Sieve++ header action asks for (header-edits.ts). */
const HEADER_OPS: Readonly<Record<string, HeaderEdit['op']>> = { header_add: 'add', header_delete: 'delete', header_prefix: 'prefix', header_postfix: 'postfix' };

/** One script run's actions as a decision; `implicitKeep` is the interpreter's (RFC 5228 2.10.2). */
export function decide(phase: Phase, actions: readonly Action[], implicitKeep: boolean): Decision {
  if (actions.length === 0 && implicitKeep) return NOTHING_DECIDED;
  const d = emptyDecision(implicitKeep);
  for (const a of actions) {
    const data = (a.data ?? {}) as { code?: number; text?: string; seconds?: number; name?: string; value?: string };
    switch (a.type) {
      case 'reject':
      case 'ereject':
        d.reply ??= replyFrom(phase === 'connect' ? 554 : 550, a.target ?? '', '5.7.1');
        if (phase === 'connect') d.disconnect = true;
        d.final = true;
        break;
      case 'ec_action':
        d.reply ??= replyFrom(data.code ?? 550, data.text ?? '');
        d.final = true;
        break;
      case 'ec_disconnect':
        d.reply ??= replyFrom(data.code ?? 421, data.text ?? '');
        d.disconnect = true;
        d.final = true;
        break;
      case 'ec_tarpit':
        d.tarpitMs += Math.max(0, (data.seconds ?? 0) * 1000);
        break;
      case 'discard':
        // Only the implicit keep is cancelled, and the interpreter already did that.
        d.final = true;
        break;
      case 'keep':
      case 'store':
        d.folders.push(a.target || INBOX);
        d.final = true;
        break;
      case 'redirect':
        if (a.target) d.redirects.push(a.target);
        if (a.target && (a.data?.deliverBy || typeof a.data?.forward === 'string')) {
          d.redirectDetails[a.target] = { ...(a.data.deliverBy ? { deliverBy: a.data.deliverBy as DeliverBy } : {}), ...(typeof a.data.forward === 'string' ? { forward: a.data.forward } : {}) };
        }
        d.final = true;
        break;
      case 'header_add':
      case 'header_delete':
      case 'header_prefix':
      case 'header_postfix':
        if (data.name) d.headerEdits.push({ op: HEADER_OPS[a.type]!, name: data.name, ...(data.value !== undefined ? { value: data.value } : {}) });
        break;
      case 'esmtp_advertize':
      case 'esmtp_disable':
        if (a.target) (d.esmtp ??= []).push({ op: a.type === 'esmtp_advertize' ? 'advertize' : 'disable', keyword: a.target });
        break;
      case 'vacation':
        d.vacations.push(a.data ?? {});
        break;
      case 'notify':
        d.notifications.push(a.data ?? {});
        break;
      case 'close_after_reply':
        // A bare ec_disconnect: whatever the reply, the connection closes after it.
        d.disconnect = true;
        break;
      case 'rewrite_mailfrom':
        if (a.target !== undefined) d.mailFrom = a.target;
        break;
      case 'add_recipient':
        if (a.target) d.addRecipients.push(a.target);
        break;
      case 'disclaimer': {
        const o = a.data as Disclaimer;
        (d.disclaimers ??= []).push({ ...(o.html !== undefined ? { html: o.html } : {}), ...(o.plain !== undefined ? { plain: o.plain } : {}) });
        break;
      }
      case 'generate_mail':
      case 'forward': {
        const o = a.data as { from: string; to: string[]; text: string; subject?: string };
        (d.outgoing ??= []).push({ type: a.type, from: o.from, to: o.to, text: o.text, ...(o.subject !== undefined ? { subject: o.subject } : {}) });
        break;
      }
      case 'routing_gateway':
        if (a.target) d.gateway = a.target;
        break;
      case 'dkim_sign':
        if (a.data?.request) (d.dkim ??= []).push(a.data.request as DkimRequest);
        break;
      case 'maildir':
        // Terminal for the recipient: its implicit keep is cancelled, the message goes to this Maildir instead.
        if (typeof a.data?.path === 'string') (d.maildirs ??= []).push(a.data.path);
        d.final = true;
        break;
      default:
        // addflag...: recorded by the interpreter, no SMTP-time effect.
        // (editheader changes the message itself: the session stores the edited one.)
        break;
    }
  }
  return d;
}

/** True when these choices change nothing once merged: the implicit keep in force, nothing chosen. */
export function choosesNothing(c: Choices): boolean {
  return !c.headerEdits.length && choosesOnlyHeaderEdits(c);
}

/** True when these choices leave where the message goes as it was: the implicit keep in force, nothing chosen but header edits. */
export function choosesOnlyHeaderEdits(c: Choices): boolean {
  return (
    c.implicitKeep &&
    !c.folders.length &&
    !c.redirects.length &&
    !c.vacations.length &&
    !c.notifications.length &&
    !c.addRecipients.length &&
    c.mailFrom === undefined &&
    c.disclaimers === undefined &&
    c.gateway === undefined &&
    !c.dkim?.length &&
    !c.maildirs?.length &&
    Object.keys(c.redirectDetails).length === 0
  );
}

/** Adds a later script's decision to a phase's. */
export function mergeDecision(total: Decision, d: Decision): void {
  total.reply ??= d.reply;
  total.disconnect ||= d.disconnect;
  total.tarpitMs += d.tarpitMs;
  total.final ||= d.final;
  if (d.esmtp) (total.esmtp ??= []).push(...d.esmtp);
  if (d.outgoing) (total.outgoing ??= []).push(...d.outgoing);
  mergeChoices(total, d);
}

/** Adds later choices: explicit stores and redirects add up; any cancelled implicit keep stays cancelled. */
export function mergeChoices(total: Choices, c: Choices): void {
  total.implicitKeep &&= c.implicitKeep;
  // Most phases choose nothing: an empty list costs a length check, not a spread call.
  if (c.folders.length) total.folders.push(...c.folders);
  if (c.redirects.length) total.redirects.push(...c.redirects);
  for (const a in c.redirectDetails) total.redirectDetails[a] = c.redirectDetails[a]!;
  if (c.headerEdits.length) total.headerEdits.push(...c.headerEdits);
  if (c.vacations.length) total.vacations.push(...c.vacations);
  if (c.notifications.length) total.notifications.push(...c.notifications);
  if (c.mailFrom !== undefined) total.mailFrom = c.mailFrom;
  if (c.gateway !== undefined) total.gateway = c.gateway;
  if (c.addRecipients.length) total.addRecipients.push(...c.addRecipients);
  if (c.disclaimers) (total.disclaimers ??= []).push(...c.disclaimers);
  if (c.dkim?.length) (total.dkim ??= []).push(...c.dkim);
  if (c.maildirs?.length) (total.maildirs ??= []).push(...c.maildirs);
}
