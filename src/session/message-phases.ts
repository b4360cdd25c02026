/**
 * Momentum's spool and each_rcpt phases (docs/server.md, "Phases"): after
 * DATA's scripts and before the reply to the final dot, when DATA did not
 * refuse the message (3-reference-modules-reception-timing.md, stage 12,
 * "async body response": "processed with the data_spool and each_rcpt
 * phase policy scripts").
 *
 * - spool runs once for the message, with DATA's inputs (the message, every
 *   accepted recipient in the envelope). A refusal refuses the message at
 *   the dot; its other choices are the whole message's, merged after DATA's.
 * - each_rcpt runs once per accepted recipient, the envelope's `to` that one
 *   recipient: "Actions taken in this phase are scoped to an individual
 *   recipient" (3-reference-lua-ref-msg-routing-domain.md). Its choices are
 *   that recipient's, merged last for it (delivery-plan.ts). A refusal
 *   refuses that recipient only. When every recipient is refused the
 *   message is refused at the dot; when some are, it is accepted for the
 *   others and the refused ones are reported to the sender in a DSN
 *   (sieve-syntax-basic.md, "reject": "If it is not possible to reject the
 *   message inline then a mail delivery notification (MDN) will be sent"),
 *   unless the sender is null (RFC 5321 4.5.5) or
 *   generate_bounces_for_multi_recipient_policy_rejections is false.
 *
 * Each run is a phase of the session (session.ts): it waits for the CBV
 * verdict if its scripts read it, sends its script mail, and is listed on
 * the transaction's log line (each_rcpt with its recipient).
 */
import type { Logger } from 'pino';
import { type Choices, choosesNothing, type Decision, mergeChoices, noChoices } from './decide.js';
import type { EachRecipient } from './delivery-plan.js';
import { bufferSource, type MessageSource } from './message-source.js';
import { type OutgoingMailSender, sendOutgoing } from './outgoing-mail.js';
import type { MessagePhase } from './phases.js';
import type { PhaseVerdict, Policy } from './policy.js';
import type { Reply } from './reply.js';
import type { ConnectionState, RecipientState, Transaction } from './state.js';

/** One run of a message phase through the session: its outcome, and the verdict when the scripts decided (absent after a policy error, whose reply is 451). */
export type RunMessagePhase = (
  phase: MessagePhase,
  message: MessageSource,
  recipient?: string,
) => Promise<{ accepted: boolean; reply: Reply; disconnect: boolean; tarpitMs: number; verdict: PhaseVerdict | undefined }>;

/** What spool and each_rcpt decided for an accepted message. */
export interface MessagePhases {
  /** The whole message is refused: the reply to the final dot. */
  refusal?: Reply;
  /** spool's 2xx reply, which replaces the ordinary success reply (as DATA's does). */
  reply?: Reply;
  /** spool's choices, for the whole message; absent when it chose nothing. */
  spool?: Choices;
  /** each_rcpt's choices and refusals, by recipient; absent when each_rcpt did not run. */
  each?: EachRecipient;
  /** The recipients each_rcpt refused while others were accepted, with their replies, in order (the DSN's). */
  refused: Array<{ address: string; reply: Reply }>;
  /** The message as the last editheader (RFC 5293) left it; absent: as DATA left it. */
  edited?: string;
  disconnect: boolean;
  tarpitMs: number;
}

/** True when the policy has scripts at spool or each_rcpt: otherwise DATA's answer is given without them. */
export function runsMessagePhases(policy: Policy): boolean {
  return policy.runsAt?.('spool') === true || policy.runsAt?.('each_rcpt') === true;
}

export async function runMessagePhases(run: RunMessagePhase, policy: Policy, tx: Transaction, received: MessageSource, edited: string | undefined): Promise<MessagePhases> {
  const out: MessagePhases = { refused: [], disconnect: false, tarpitMs: 0, ...(edited !== undefined ? { edited } : {}) };
  // Each phase sees the message as the earlier ones' editheader left it (RFC 5293 edits the message itself).
  let message = edited === undefined ? received : bufferSource(Buffer.from(edited, 'utf8'));
  const took = (r: Awaited<ReturnType<RunMessagePhase>>) => {
    out.disconnect ||= r.disconnect;
    out.tarpitMs += r.tarpitMs;
    if (!r.accepted || r.verdict?.edited === undefined) return;
    out.edited = r.verdict.edited;
    message = bufferSource(Buffer.from(r.verdict.edited, 'utf8'));
  };
  if (policy.runsAt?.('spool') === true) {
    const r = await run('spool', message);
    took(r);
    if (!r.accepted) return { ...out, refusal: r.reply };
    const d = r.verdict?.decision;
    if (d && !choosesNothing(d)) out.spool = d;
    if (d?.reply) out.reply = d.reply;
  }
  if (policy.runsAt?.('each_rcpt') !== true) return out;
  const choices = new Map<RecipientState, Choices>();
  const refused = new Map<RecipientState, Reply>();
  for (const r of [...tx.recipients]) {
    // The message context names the recipient decided, as at RCPT TO: Momentum's ec_maildir example reads
    // %{vctx_mess:rcptto_localpart}@%{vctx_mess:rcptto_domain} in each_rcpt (sieve-ref-ec-maildir.md).
    tx.offer(r.address);
    const result = await run('each_rcpt', message, r.address);
    took(result);
    // A script that failed (runtime_error = fail: 451 4.3.0) decided nothing about the recipient: the whole
    // message is deferred, so the client sends it again, rather than one recipient bounced for a fault of ours.
    if (!result.accepted && result.verdict === undefined) return { ...out, refusal: result.reply };
    if (!result.accepted) refused.set(r, result.reply);
    else if (result.verdict && !choosesNothing(result.verdict.decision)) choices.set(r, result.verdict.decision);
  }
  out.each = { choices, refused: new Set(refused.keys()) };
  if (refused.size === tx.recipients.length) {
    // Every recipient refused: one reply at the dot. A 4xx among them wins over the 5xx ones, so that the
    // client tries again and nothing is lost (a 5xx would bounce recipients that were only deferred).
    const replies = [...refused.values()];
    return { ...out, refusal: replies.find((reply) => reply.code < 500) ?? replies[0]! };
  }
  for (const [r, reply] of refused) out.refused.push({ address: r.address, reply });
  return out;
}

/** DATA's choices with spool's after them: the whole message's (a copy: DATA's decision may be the shared NOTHING_DECIDED). */
export function withSpool(data: Decision, spool: Choices | undefined): Choices {
  if (!spool) return data;
  const c = noChoices();
  mergeChoices(c, data);
  mergeChoices(c, spool);
  return c;
}

/**
 * Reports the recipients each_rcpt refused to the envelope sender once the
 * message was accepted for the others: an RFC 3464 DSN through the delivery
 * queue (src/delivery/script-mail.ts composes it), listed with the script
 * mail on the transaction's log line. None to the null sender (RFC 5321
 * 4.5.5) or when the configuration turned them off; without a queue, a
 * warning, as for script mail.
 */
export async function reportRefused(
  o: { sender: OutgoingMailSender | undefined; enabled: boolean; logger: Logger },
  at: { connection: ConnectionState; transaction: Transaction; message: MessageSource; about: string | undefined },
  refused: MessagePhases['refused'],
): Promise<void> {
  const tx = at.transaction;
  if (!refused.length) return;
  if (tx.mailFrom === '' || !o.enabled) {
    // A detail: the transaction's line already lists each refused recipient with its reply (docs/server.md, "Logs").
    o.logger.debug(
      { event: 'each_rcpt.no-dsn', session: at.connection.id, transaction: tx.id, recipients: refused.map((r) => r.address), why: tx.mailFrom === '' ? 'null sender' : 'generate_bounces_for_multi_recipient_policy_rejections = false' },
      'recipients refused by each_rcpt: no DSN',
    );
    return;
  }
  const dsn = { type: 'dsn' as const, from: '', to: [tx.mailFrom], text: '', refused, ...(at.about !== undefined ? { about: at.about } : {}) };
  await sendOutgoing(o.sender, o.logger, { phase: 'each_rcpt', connection: at.connection, transaction: tx, message: at.message }, [dsn]);
}
