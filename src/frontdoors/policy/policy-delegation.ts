/**
 * Postfix policy requests turned into session events (docs/postfix.md,
 * "The policy service"). Postfix asks once per restriction it evaluates
 * and tells us where it is (`protocol_state`) and all it knows so far; we
 * play the SMTP session it describes on a Session of our own:
 *
 *   a new SMTP client (address, port, server address, port)  Session + connect phase
 *   a HELO name not seen yet on that session                   ehlo phase
 *   a new `instance` (Postfix's id of one message transaction) mailfrom phase
 *   a recipient not seen yet in the transaction                rcptto phase
 *
 * Each phase runs once however often Postfix asks (a policy service named
 * in two restriction lists is asked twice), so multi-recipient transactions
 * and the message context behave as under `serve`. The answer is the first
 * refusal on the way, else what the phase chose, as an access(5) action:
 *
 *   refusal 4NN/5NN                          "4NN/5NN <enhanced> <text>" (421 makes Postfix hang up)
 *   discard (the message, or one recipient)  DISCARD  (Postfix discards the whole message)
 *   fileinto a folder other than INBOX       HOLD     (the hold queue: a quarantine)
 *   redirect "A" (keep cancelled / kept)      REDIRECT A / BCC A
 *   ec_header_add / addheader                PREPEND Name: value
 *   anything else                            DUNNO    (no decision: the next restriction decides)
 *
 * Postfix takes one action per reply; actions a reply could not carry are
 * given in the transaction's next replies (later RCPTs, and DATA or
 * END-OF-MESSAGE when the service is also in smtpd_data_restrictions or
 * smtpd_end_of_data_restrictions).
 */
import type { Logger } from 'pino';
import { type Choices, dropsMessage, INBOX, mergeChoices, noChoices } from '../../session/decide.js';
import { type Reply, replyLines } from '../../session/reply.js';
import { type PhaseOutcome, Session, type SessionDeps } from '../../session/session.js';
import { fieldText } from '../../sieve/extensions/editheader.js';
import { delayWithin } from '../beside-mta.js';
import type { PolicyRequest } from './policy-codec.js';

export interface PolicyDelegationOptions {
  /** Our name (Received:, environment `host`). */
  hostname: string;
  /** Connection context values from the configuration. */
  context: Record<string, string>;
  /** Every answer goes out within this (Postfix's smtpd_policy_service_timeout is the limit). */
  deadlineMs: number;
  /** SMTP sessions remembered at once; the least recently asked about is forgotten first. */
  maxSessions: number;
  /** A session not asked about for this long is over (Postfix's smtpd_timeout is 300 s). */
  sessionIdleMs: number;
  logger: Logger;
}

/** One SMTP client as Postfix describes it. */
interface ClientEntry {
  session: Session;
  /** Set once the connect phase ran (before any request about this client is answered). */
  connect?: PhaseOutcome;
  helo?: { name: string; outcome: PhaseOutcome };
  tx?: TxEntry;
  lastUsed: number;
  /** Requests about one client are answered in order. */
  chain: Promise<unknown>;
}

interface TxEntry {
  instance: string;
  mail: PhaseOutcome;
  rcpts: Map<string, PhaseOutcome>;
  /** Actions already given for this transaction. */
  sent: Set<string>;
}

export const DUNNO = 'DUNNO';

export class PolicyDelegation {
  private readonly clients = new Map<string, ClientEntry>();
  private counter = 0;

  constructor(
    private readonly deps: SessionDeps,
    private readonly options: PolicyDelegationOptions,
  ) {}

  get sessionCount(): number {
    return this.clients.size;
  }

  /** The access(5) action for one request. */
  decide(request: PolicyRequest): Promise<string> {
    const key = ['client_address', 'client_port', 'server_address', 'server_port', 'client_name'].map((k) => request.get(k) ?? '').join('|');
    let entry = this.clients.get(key);
    if (entry) this.clients.delete(key); // re-inserted below: Map order is last use
    else {
      this.expire();
      entry = this.open(request);
    }
    this.clients.set(key, entry);
    entry.lastUsed = Date.now();
    const e = entry;
    const next = e.chain.then(() => this.answer(request, e));
    e.chain = next.catch(() => undefined);
    return next;
  }

  /** Forgets every session (a stop). */
  closeAll(): void {
    for (const e of this.clients.values()) e.session.close();
    this.clients.clear();
  }

  /** A new SMTP client: its session, whose connect phase runs before any request about it is answered. */
  private open(request: PolicyRequest): ClientEntry {
    const o = this.options;
    const session = new Session(
      {
        id: `policy-${process.pid}-${++this.counter}`,
        remoteAddress: request.get('client_address') || 'unknown',
        remotePort: Number(request.get('client_port') ?? 0) || 0,
        localAddress: request.get('server_address') ?? '',
        localPort: Number(request.get('server_port') ?? 0) || 0,
        tls: Boolean(request.get('encryption_protocol')),
        context: { ...o.context, ...attributes(request) },
        hostname: o.hostname,
        banner: '',
      },
      this.deps,
    );
    const entry: ClientEntry = { session, lastUsed: Date.now(), chain: Promise.resolve() };
    entry.chain = session.connect().then((outcome) => {
      entry.connect = outcome;
    });
    return entry;
  }

  /** Drops sessions nobody asked about for a while, and the oldest past the bound (Map order is last use). */
  private expire(): void {
    const now = Date.now();
    for (const [key, e] of this.clients) {
      if (this.clients.size < this.options.maxSessions && now - e.lastUsed < this.options.sessionIdleMs) break;
      e.session.close();
      this.clients.delete(key);
    }
  }

  private async answer(request: PolicyRequest, entry: ClientEntry): Promise<string> {
    const until = Date.now() + this.options.deadlineMs;
    const connect = entry.connect!;
    const s = entry.session;
    for (const [k, v] of Object.entries(attributes(request))) s.connection.note(k, v);
    if (request.get('encryption_protocol') && !s.connection.tls) s.secured();
    const user = request.get('sasl_username');
    if (user && s.connection.user !== user) s.authenticated(user);

    const state = (request.get('protocol_state') ?? '').toUpperCase();
    const reply = (o: PhaseOutcome, extra = DUNNO) => this.reply(o, until, extra);
    if (!connect.accepted || state === 'CONNECT') return reply(connect);

    const helo = request.get('helo_name');
    if (helo && entry.helo?.name !== helo) {
      const verb = (request.get('protocol_name') ?? '').toUpperCase() === 'SMTP' ? 'HELO' : 'EHLO';
      entry.helo = { name: helo, outcome: await s.hello(verb, helo, `${verb} ${helo}`) };
      delete entry.tx; // a new greeting ends the transaction (RFC 5321 4.1.4)
    }
    if (entry.helo && (!entry.helo.outcome.accepted || state === 'EHLO' || state === 'HELO')) return reply(entry.helo.outcome);
    if (!['MAIL', 'RCPT', 'DATA', 'BDAT', 'END-OF-MESSAGE'].includes(state)) return DUNNO;

    const instance = request.get('instance') ?? '';
    let tx = entry.tx;
    if (!tx || tx.instance !== instance) {
      const mail = await s.mailFrom(request.get('sender') ?? '');
      tx = { instance, mail, rcpts: new Map(), sent: new Set() };
      entry.tx = tx;
    }
    if (!tx.mail.accepted) return reply(tx.mail);
    if (state === 'RCPT') {
      const recipient = request.get('recipient') ?? '';
      let outcome = tx.rcpts.get(recipient);
      if (!outcome) {
        outcome = await s.rcptTo(recipient);
        tx.rcpts.set(recipient, outcome);
      }
      if (!outcome.accepted) return reply(outcome);
      return reply(outcome, this.pending(s, tx, recipient));
    }
    return reply(tx.mail, this.pending(s, tx));
  }

  /**
   * The next action the transaction's choices call for that was not given
   * yet (one per reply), or DUNNO.
   */
  private pending(s: Session, tx: TxEntry, recipient?: string): string {
    const t = s.transaction;
    if (!t) return DUNNO;
    const choices: Choices = noChoices();
    mergeChoices(choices, s.connection.chosenSoFar);
    mergeChoices(choices, t.chosenSoFar);
    const r = recipient === undefined ? undefined : t.recipients.find((x) => x.address === recipient);
    if (r) mergeChoices(choices, r.choices);
    // Header edits of every accepted recipient so far (they apply to the one message).
    const adds = [...s.connection.chosenSoFar.headerEdits, ...t.chosenSoFar.headerEdits, ...t.recipients.flatMap((x) => x.choices.headerEdits)].filter((e) => e.op === 'add');
    const candidates: string[] = [];
    if (dropsMessage(choices)) candidates.push('DISCARD smtp-cbv policy discard');
    const held = choices.folders.filter((f) => f.toUpperCase() !== INBOX);
    if (held.length) candidates.push(`HOLD smtp-cbv fileinto ${held[0]}`);
    const keeps = choices.implicitKeep || choices.folders.length > 0;
    for (const a of choices.redirects) candidates.push(keeps ? `BCC ${a}` : `REDIRECT ${a}`);
    for (const e of adds) candidates.push(`PREPEND ${prependedField(e.name, e.value ?? '')}`);
    const next = candidates.find((c) => !tx.sent.has(c));
    if (!next) return DUNNO;
    tx.sent.add(next);
    return next;
  }

  private async reply(outcome: PhaseOutcome, until: number, accepted: string): Promise<string> {
    await delayWithin(outcome.tarpitMs, until);
    return outcome.accepted ? accepted : accessReply(outcome.reply);
  }
}

/**
 * A header field as PREPEND carries it: written as addheader writes one
 * (RFC 2047-encoded when not ASCII), then unfolded (RFC 5322 2.2.3), since
 * a policy reply is one line (SMTPD_POLICY_README); Postfix's cleanup
 * splits a line past its line_length_limit itself.
 */
function prependedField(name: string, value: string): string {
  return fieldText(name, value.replace(/[\r\n]+/g, ' ')).replace(/\r\n/g, '');
}

/** A refusal as access(5) takes it: one line, "NNN x.y.z text" (several lines joined). */
export function accessReply(reply: Reply): string {
  const lines = replyLines(reply);
  const text = reply.enhanced ? `${reply.enhanced} ${lines.map((l) => l.slice(reply.enhanced!.length + 1)).join('; ')}` : lines.join('; ');
  return `${reply.code} ${text}`;
}

/** The request's attributes as connection context values: `postfix_<name>`. */
function attributes(request: PolicyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of request) out[`postfix_${k}`] = v;
  return out;
}
