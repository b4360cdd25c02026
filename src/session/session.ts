/**
 * The session machine: one SMTP session, whichever front door drives it
 * (the SMTP server, and the dry run; later the Postfix policy and milter
 * front doors). The front door reports what the client did, in order; the
 * session runs the current policy for that phase, keeps what was decided
 * on its own state (state.ts), and answers with the reply to send.
 *
 * The policy is looked up afresh at every phase, so a reload takes effect
 * at the next phase while every choice already made stays with the
 * transaction. Services (CBV, the store, counters) are long-lived and
 * handed in.
 *
 * Logging: one info line per transaction (and per refused connection)
 * with every decision in it; each phase at debug.
 */
import type { DeliverBy } from './deliver-by.js';
import type { Logger } from 'pino';
import type { PhaseOutcome, SessionDeps, UserMaildirs } from './session-types.js';
import { infoLine } from '../info-line.js';
import { type Choices, choosesNothing, type EsmtpChange, mergeChoices, noChoices, NOTHING_DECIDED } from './decide.js';
import { planAccepted, toModuleMaildirs } from './delivery-plan.js';
import { autoSigning } from './dkim-auto.js';
import { bufferSource, MessageMemoryRefused, type MessageSource } from './message-source.js';
import { suspectedLoop } from './mail-loop.js';
import type { MessagePhase, Phase } from './phases.js';
import { reportRefused, runMessagePhases, runsMessagePhases, withSpool } from './message-phases.js';
import type { PhaseInput, PhaseVerdict } from './policy.js';
import { replies } from './replies.js';
import { carriedOut, isRefusal, type Reply, successReply } from './reply.js';
import { MAX_LISTED, recipientRefusal, transactionRefusal } from './limits.js';
import { addAuthenticationLogFields } from './message-authentication.js';
import { sendOutgoing } from './outgoing-mail.js';
import { type ClientInfo, ConnectionState, Transaction } from './state.js';

export type { DeliveryPlan } from './delivery-plan.js';

export type { Accepted, MessageStore, PhaseOutcome, SessionDeps, SessionObserver, SessionServices } from './session-types.js';

interface TxLog {
  phases: Array<{ phase: Phase; code: number; recipient?: string }>;
  /** Phases past MAX_LISTED (limits.ts): counted, not listed. */
  unlisted: number;
}

export class Session {
  readonly connection: ConnectionState;
  transaction: Transaction | null = null;
  /** The transaction that ended last (the dry run reports the context its last phase saw). */
  lastTransaction: Transaction | null = null;
  private txLog: TxLog | null = null;
  private transactions = 0;
  private readonly logger: Logger;

  constructor(
    client: ClientInfo,
    private readonly deps: SessionDeps,
  ) {
    this.connection = new ConnectionState(client);
    this.logger = deps.services.logger;
    deps.services.observer?.connection?.('open', this.connection);
  }

  connect(): Promise<PhaseOutcome> {
    return this.phase('connect', {}, (verdict) => {
      const d = verdict.decision;
      if (isRefusal(d.reply)) return { reply: d.reply!, accepted: false, disconnect: true };
      // The connection's choices are made when a phase first chooses something: an idle connection holds none.
      if (!choosesNothing(d)) mergeChoices(this.connection.choices, d);
      if (d.esmtp) this.changeEsmtp(d.esmtp);
      return { reply: successReply(d.reply, replies.greeting(this.connection.hostname, this.connection.banner)), accepted: true };
    });
  }

  /** EHLO or HELO: a new greeting also ends any transaction (RFC 5321 4.1.4). */
  hello(verb: 'EHLO' | 'HELO', domain: string, line?: string): Promise<PhaseOutcome> {
    this.endTransaction('reset');
    this.connection.greeted(verb, domain, line);
    return this.phase('ehlo', {}, (verdict) => {
      const d = verdict.decision;
      if (isRefusal(d.reply)) return { reply: d.reply!, accepted: false };
      if (!choosesNothing(d)) mergeChoices(this.connection.choices, d);
      if (d.esmtp) this.changeEsmtp(d.esmtp);
      const reply = successReply(d.reply, replies.ehlo(this.connection.hostname, this.connection.remoteAddress));
      // After HELO there are no extension lines to change (RFC 5321 4.1.1.1).
      const esmtp = verb === 'EHLO' ? this.connection.esmtpChanges : undefined;
      return esmtp ? { reply, accepted: true, esmtp } : { reply, accepted: true };
    });
  }

  /** Keeps a phase's changes to the EHLO answer for the connection: an EHLO after RSET or STARTTLS answers with them too. */
  private changeEsmtp(changes: readonly EsmtpChange[]): void {
    (this.connection.esmtpChanges ??= []).push(...changes);
  }

  secured(): void {
    this.connection.secured();
  }

  authenticated(user: string): void {
    this.connection.authenticated(user);
  }

  /** MAIL FROM: a new transaction with a new message context; `deliverBy`: its BY parameter (RFC 2852). */
  async mailFrom(address: string, params: { deliverBy?: DeliverBy } = {}): Promise<PhaseOutcome> {
    this.endTransaction('reset');
    const tx = new Transaction(address, `${this.connection.id}.${++this.transactions}`);
    if (params.deliverBy) tx.deliverBy = params.deliverBy;
    this.transaction = tx;
    this.txLog = { phases: [], unlisted: 0 };
    // A connection that used up its messages or recipients is closed (limits.ts), before SPF or any script runs.
    const spent = transactionRefusal(this.connection.limits, this.connection.messageCount, this.connection.rcptCount);
    if (spent) return this.refuseTransaction('mailfrom', spent, { disconnect: true });
    // SPF's verdict joins the message context before the mailfrom scripts run (without it, no wait).
    const authentication = this.deps.services.authentication;
    if (authentication) await authentication.mailFrom(this.connection, tx);
    // The client hung up while SPF asked the DNS (close() ended the transaction): no script
    // runs and no probe starts for a connection that is gone; no one reads this reply.
    if (this.transaction !== tx) return { phase: 'mailfrom', reply: replies.sessionLost, accepted: false, disconnect: true, tarpitMs: 0 };
    return this.phase('mailfrom', {}, (verdict) => {
      const d = verdict.decision;
      if (isRefusal(d.reply)) return { reply: d.reply!, accepted: false };
      if (!choosesNothing(d)) mergeChoices(tx.choices, d);
      this.deps.services.cbv?.accepted('mailfrom', this.connection, tx);
      return { reply: successReply(d.reply, replies.mailAccepted), accepted: true };
    });
  }

  async rcptTo(address: string): Promise<PhaseOutcome> {
    const tx = this.transaction;
    if (!tx) return this.outOfOrder('rcptto');
    // Past a limit (limits.ts) the recipient is refused before any script or call-ahead runs.
    const full = recipientRefusal(this.connection.limits, tx.recipients.length, this.connection.rcptCount);
    if (full) return this.finish('rcptto', { reply: full, accepted: false, recipient: address }, 0);
    tx.offer(address);
    // Recipient call-ahead (docs/recipient-verification.md): before the scripts when they read
    // its verdict, else only for a recipient they accept, so a refused one costs the next hop nothing,
    // and at the gateway they chose for it when they chose one (ec_set_routing_gateway) and the mail
    // goes there: beside an MTA that keeps it (the milter, the policy service), the MTA routes it.
    const recipients = this.deps.services.recipients;
    const asked = recipients && this.deps.policy().readsRecipientVerdict?.('rcptto') ? recipients.check(this.connection, tx, address) : undefined;
    const early = asked instanceof Promise ? await asked : asked;
    return this.phase('rcptto', { recipient: address }, async (verdict) => {
      const d = verdict.decision;
      if (isRefusal(d.reply)) return { reply: d.reply!, accepted: false, recipient: address };
      const gateway = this.deps.services.store.keptElsewhere === true ? undefined : d.gateway;
      const asking = early ?? recipients?.check(this.connection, tx, address, gateway);
      const check = asking instanceof Promise ? await asking : asking;
      if (check?.refusal) return { reply: check.refusal, accepted: false, recipient: address };
      // The maildir module's own domains: a recipient without a mailbox is refused here, before the message (user-maildir.ts).
      const mailboxes = this.moduleMaildirs();
      const noMailbox = mailboxes?.refusal(address);
      const mailboxRefusal = noMailbox instanceof Promise ? await noMailbox : noMailbox;
      if (mailboxRefusal) return { reply: mailboxRefusal, accepted: false, recipient: address };
      // A recipient's choices are only read (planDelivery): one that chose nothing shares NOTHING_DECIDED.
      let choices: Choices = NOTHING_DECIDED;
      if (!choosesNothing(d)) mergeChoices((choices = noChoices()), d);
      tx.accept({ address, choices });
      this.connection.countRecipient();
      this.deps.services.cbv?.accepted('rcptto', this.connection, tx);
      return { reply: successReply(d.reply, replies.rcptAccepted), accepted: true, recipient: address };
    });
  }

  /**
   * The message, whole, after the client's final dot: in memory, or a
   * spooled file the scripts and the store read on demand (message-source.ts).
   * The transaction ends here either way.
   */
  async data(received: Buffer | MessageSource): Promise<PhaseOutcome> {
    const source = Buffer.isBuffer(received) ? bufferSource(received) : received;
    const tx = this.transaction;
    if (!tx) return this.outOfOrder('data');
    if (!tx.recipients.length) return this.outOfOrder('data', replies.noValidRecipients);
    // A suspected mail loop (mail-loop.ts) is refused before anything else is done with the message.
    const loop = this.deps.services.mailLoop && suspectedLoop(this.deps.services.mailLoop, source);
    if (loop?.reply) return this.refuseTransaction('data', loop.reply, { logged: { mailLoop: loop.received } });
    if (loop) this.connection.loopSuspected(loop.received);
    // DKIM/ARC/DMARC results join the context, and their header the message, before the data scripts run.
    const auth = this.deps.services.authentication;
    const message = auth?.active ? await auth.data(this.connection, tx, source) : source;
    return this.phase('data', { message }, async (verdict) => {
      const d = verdict.decision;
      if (isRefusal(d.reply)) return { reply: d.reply!, accepted: false };
      // Momentum's spool and each_rcpt phases, before the reply to the dot (message-phases.ts).
      const policy = this.deps.policy();
      const later = runsMessagePhases(policy) ? await runMessagePhases((p, m, r) => this.messagePhase(p, m, r), policy, tx, message, verdict.edited) : undefined;
      const after = later ? { disconnect: later.disconnect, tarpitMs: later.tarpitMs } : {};
      if (later?.refusal) return { reply: later.refusal, accepted: false, ...after };
      const keptElsewhere = this.deps.services.store.keptElsewhere === true && !this.connection.bodyReplaceable;
      const planned = await planAccepted(this.connection, tx, { data: withSpool(d, later?.spool), edited: later ? later.edited : verdict.edited, each: later?.each }, { received: source, message }, keptElsewhere, this.logger, autoSigning(this.deps.services));
      const mailboxes = this.moduleMaildirs();
      const plan = mailboxes ? toModuleMaildirs(planned, (r) => mailboxes.claims(r)) : planned;
      let ids: string[];
      try {
        // ec_maildir's copies, durable before the reply as the store's are; a host that writes none (the dry run) keeps the plan.
        const userMaildirs = this.deps.services.userMaildirs;
        const stored = plan.message ?? message;
        if (plan.maildirs && userMaildirs) await userMaildirs.write(plan.maildirs, (await stored.load?.(), stored.bytes()));
        ids = await this.deps.services.store.store({ connection: this.connection, transaction: tx, plan, message: stored });
      } catch (e) {
        this.logger.error({ event: 'store-failed', session: this.connection.id, transaction: tx.id, err: (e as Error).message }, 'storing the message failed');
        return { reply: replies.localError, accepted: false, ...after };
      }
      this.connection.countMessage();
      const { outgoing, policyRejectionBounces } = this.deps.services;
      if (later?.refused.length) await reportRefused({ sender: outgoing, enabled: policyRejectionBounces !== false, logger: this.logger }, { connection: this.connection, transaction: tx, message, about: ids[0] }, later.refused);
      const reply = successReply(later?.reply ?? d.reply, ids.length ? replies.queued(ids[0]!) : replies.accepted);
      return { reply, accepted: true, delivery: plan, ids, ...after };
    });
  }

  /** RSET (RFC 5321 4.1.1.5): the transaction is dropped, the connection's state kept. */
  reset(): void {
    this.endTransaction('reset');
  }

  /** The connection ended. */
  close(): void {
    this.endTransaction('closed');
    this.deps.services.observer?.connection?.('close', this.connection);
  }

  /**
   * Runs one phase: waits for the CBV verdict if this phase's scripts read
   * it, runs the policy, and lets `decide` turn the verdict into the outcome.
   */
  private async phase(
    phase: Phase,
    extra: { recipient?: string; message?: MessageSource },
    decide: (v: PhaseVerdict) => Partial<PhaseOutcome> & Pick<PhaseOutcome, 'reply' | 'accepted'> | Promise<Partial<PhaseOutcome> & Pick<PhaseOutcome, 'reply' | 'accepted'>>,
    /** spool and each_rcpt, run inside DATA's answer: a message that does not fit is DATA's to refuse. */
    nested = false,
  ): Promise<PhaseOutcome> {
    const { services } = this.deps;
    const policy = this.deps.policy();
    const tx = this.transaction;
    const cbv = services.cbv;
    // Only a probe still running is waited for: a cached verdict is already on the transaction.
    if (cbv && tx && tx.probe.state === 'running' && cbv.comesAfterStart(phase) && policy.waitsForVerdict(phase)) await cbv.settle(this.connection, tx);
    let verdict: PhaseVerdict;
    try {
      const input: PhaseInput = { phase, connection: this.connection, transaction: tx };
      if (extra.recipient !== undefined) input.recipient = extra.recipient;
      if (extra.message !== undefined) input.message = extra.message;
      // A phase without scripts (often connect and EHLO) is decided without a run, a promise or a wait.
      const running = policy.runsAt?.(phase) === false ? { decision: NOTHING_DECIDED, failed: false } : policy.run(input, services);
      verdict = running instanceof Promise ? await running : running;
    } catch (e) {
      // A script read a spooled message whole and the memory budget had no room: 452 4.3.1, as for a DATA that does not fit.
      if (e instanceof MessageMemoryRefused) {
        if (nested) throw e;
        return this.noMemory(phase, extra.message);
      }
      // A policy must not throw; if one does, the client gets a temporary failure, not a hang.
      this.logger.error({ event: 'policy-error', phase, session: this.connection.id, err: (e as Error).message }, 'policy failed');
      verdict = { decision: { ...noChoices(), disconnect: false, tarpitMs: 0, final: false }, failed: true };
    }
    // RFC 7352: a transaction's tested ids wait for its result to be carried out (endTransaction).
    if (verdict.duplicates && tx) (tx.duplicates ??= []).push(...verdict.duplicates);
    const outgoing = verdict.failed ? undefined : verdict.decision.outgoing;
    if (outgoing) await sendOutgoing(services.outgoing, this.logger, { phase, connection: this.connection, transaction: tx ?? undefined, message: extra.message }, outgoing);
    const tarpitMs = Math.min(verdict.decision.tarpitMs, services.maxTarpitMs);
    let outcome: PhaseOutcome;
    try {
      if (verdict.failed) {
        outcome = this.finish(phase, { reply: replies.policyError, accepted: false, ...(extra.recipient !== undefined ? { recipient: extra.recipient } : {}) }, tarpitMs);
      } else {
        // Most phases decide synchronously: no promise is made for them.
        const decided = decide(verdict);
        const o = decided instanceof Promise ? await decided : decided;
        o.disconnect = o.disconnect || verdict.decision.disconnect;
        // DATA's answer waits for the tarpits its spool and each_rcpt runs asked for too.
        outcome = this.finish(phase, o, o.tarpitMs ? Math.min(tarpitMs + o.tarpitMs, services.maxTarpitMs) : tarpitMs);
      }
    } catch (e) {
      // Header edits need the message whole, as a script's body test does.
      if (e instanceof MessageMemoryRefused && !nested) return this.noMemory(phase, extra.message);
      throw e;
    }
    // MAIL FROM refused, or DATA answered either way: the transaction is over.
    if (phase === 'data' || (phase === 'mailfrom' && !outcome.accepted)) {
      const o = outcome;
      this.endTransaction(o.accepted ? 'accepted' : 'refused', o.delivery ? { ids: o.ids, stores: o.delivery.stores, redirects: o.delivery.redirects, bytes: extra.message?.size } : {}, o.reply);
    } else if (!tx && verdict.duplicates && carriedOut(outcome.reply)) {
      // Connect and EHLO runs belong to no transaction: their answer is their result.
      services.duplicates?.record(verdict.duplicates);
    }
    return outcome;
  }

  /** Momentum's maildir module, when smtp-cbv delivers the message: beside an MTA that keeps it (the milter, the policy service) the MTA delivers, and the module takes no recipient. */
  private moduleMaildirs(): UserMaildirs | undefined {
    return this.deps.services.store.keptElsewhere === true ? undefined : this.deps.services.userMaildirs;
  }

  /** One spool or each_rcpt run (message-phases.ts): a phase of its own on the log line, inside DATA's answer. */
  private async messagePhase(phase: MessagePhase, message: MessageSource, recipient?: string) {
    let verdict: PhaseVerdict | undefined;
    const to = recipient !== undefined ? { recipient } : {};
    const o = await this.phase(phase, { message, ...to }, (v) => {
      verdict = v;
      const reply = v.decision.reply;
      return isRefusal(reply) ? { reply: reply!, accepted: false, ...to } : { reply: successReply(reply, replies.accepted), accepted: true, ...to };
    }, true);
    return { accepted: o.accepted, reply: o.reply, disconnect: o.disconnect, tarpitMs: o.tarpitMs, verdict };
  }

  private noMemory(phase: Phase, message: MessageSource | undefined): PhaseOutcome {
    this.logger.warn({ event: 'message-memory', session: this.connection.id, phase, bytes: message?.size }, 'message memory budget reached: 452');
    return this.refuseTransaction(phase, replies.noMemory);
  }

  /** A refusal that ends the transaction before its phase runs (no memory, a limit, a mail loop): its outcome, then its log line. */
  private refuseTransaction(phase: Phase, reply: Reply, o: { disconnect?: boolean; logged?: Record<string, unknown> } = {}): PhaseOutcome {
    const outcome = this.finish(phase, { reply, accepted: false, ...(o.disconnect ? { disconnect: true } : {}) }, 0);
    this.endTransaction('refused', o.logged, reply);
    return outcome;
  }

  private finish(phase: Phase, o: Partial<PhaseOutcome> & Pick<PhaseOutcome, 'reply' | 'accepted'>, tarpitMs: number): PhaseOutcome {
    // Field by field, not a spread: the decide callbacks give objects of many shapes, and a spread of
    // those took the slow path, an eighth of the session's own time per message.
    const outcome: PhaseOutcome = { phase, reply: o.reply, accepted: o.accepted, disconnect: o.disconnect ?? false, tarpitMs };
    if (o.recipient !== undefined) outcome.recipient = o.recipient;
    if (o.delivery !== undefined) outcome.delivery = o.delivery;
    if (o.ids !== undefined) outcome.ids = o.ids;
    if (o.esmtp !== undefined) outcome.esmtp = o.esmtp;
    // Built only when debug is on: this runs for every phase of every message.
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ event: 'phase', session: this.connection.id, phase, code: outcome.reply.code, recipient: outcome.recipient, disconnect: outcome.disconnect, tarpitMs }, `${phase} ${outcome.reply.code}`);
    }
    const log = this.txLog;
    if (log && log.phases.length < MAX_LISTED) log.phases.push(outcome.recipient !== undefined ? { phase, code: outcome.reply.code, recipient: outcome.recipient } : { phase, code: outcome.reply.code });
    else if (log) log.unlisted++;
    this.deps.services.observer?.phase?.(outcome, this.connection);
    if (!outcome.accepted && (phase === 'connect' || phase === 'ehlo')) {
      this.logger.info({ event: 'refused', session: this.connection.id, client: this.connection.remoteAddress, phase, code: outcome.reply.code, reply: outcome.reply.text }, `${phase} refused ${outcome.reply.code}`);
    }
    return outcome;
  }

  /** A command the front door should not have passed on yet (smtp-server enforces the order itself). */
  private outOfOrder(phase: Phase, reply: Reply = replies.needMail): PhaseOutcome {
    return { phase, reply, accepted: false, disconnect: false, tarpitMs: 0 };
  }

  /**
   * The one info line of a transaction, with its decisions. `reply`: the
   * answer that ended it, when one did (accepted, or refused).
   */
  private endTransaction(how: string, extra: Record<string, unknown> = {}, reply?: Reply): void {
    const tx = this.transaction;
    if (!tx) return;
    // RFC 7352 3: the ids its scripts tested are recorded only once its result is carried out (the message
    // stored, or refused for good), never when the client is to send it again or went away.
    if (tx.duplicates && reply && carriedOut(reply)) this.deps.services.duplicates?.record(tx.duplicates);
    const log = this.txLog;
    this.transaction = null;
    this.lastTransaction = tx;
    this.txLog = null;
    this.deps.services.observer?.transaction?.(how);
    // The line every transaction writes, serialised at once (src/info-line.ts). Its fields are added in
    // order, not spread: a spread of each optional part made an object for it, for every transaction.
    const fields: Record<string, unknown> = {
      event: 'transaction',
      session: this.connection.id,
      transaction: tx.id,
      client: this.connection.remoteAddress,
      helo: this.connection.helo,
      from: tx.mailFrom,
      recipients: tx.recipientAddresses,
      outcome: how,
      phases: log?.phases ?? [],
    };
    if (log?.unlisted) fields.phasesUnlisted = log.unlisted;
    fields.cbv = tx.verdictVariables.smtp_cbv_result ?? tx.verdictVariables.smtp_cbv_reason ?? null;
    if (tx.recipientChecks.length) fields.recipientVerify = tx.recipientChecks;
    if (tx.outgoing) fields.outgoing = tx.outgoing;
    addAuthenticationLogFields(fields, tx);
    Object.assign(fields, extra);
    infoLine(this.logger, fields, `transaction ${how}`);
  }
}
