/**
 * The state a session owns: the connection (who the client is, what it
 * said, the connection context `vctx_conn`) and the current transaction
 * (envelope, message context `vctx_mess`, the delivery choices each phase
 * made, the CBV probe and its verdict). Policies and front doors come and
 * go; this state stays with the session, so a reload cannot lose it.
 *
 * The context Maps are what scripts see; the server's own keys
 * (context-keys.ts) are written only through the methods here.
 */
import type { DeliverBy } from './deliver-by.js';
import type { Verdict } from '../cbv/types.js';
import type { DuplicateRecord } from '../sieve/index.js';
import { isReservedContextKey } from './context-keys.js';
import { type Choices, type EsmtpChange, noChoices, NOTHING_DECIDED } from './decide.js';
import { MAX_LISTED, NO_LIMITS, type SessionLimits } from './limits.js';

/** Who the client is, as the front door learnt it. */
export interface ClientInfo {
  id: string;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** The listener the client came in on ("host:port" as configured); absent outside the SMTP listeners. */
  listener?: string;
  tls: boolean;
  /** Listener and peer `Context = [...]` values: the connection context starts with them. */
  context?: Record<string, string>;
  /** The name we greet with and write into Received: (the listener's, else the server's). */
  hostname: string;
  /** The text after "ESMTP" in the greeting. */
  banner: string;
  /** Recipients and messages this connection may have accepted (limits.ts); absent: none. */
  limits?: SessionLimits;
  /** The front door hands a body the policy changed back to an MTA that keeps the message (a milter allowed SMFIF_CHGBODY). */
  bodyReplaceable?: boolean;
}

export class ConnectionState {
  readonly id: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly listener: string | undefined;
  readonly hostname: string;
  /** ClientInfo.bodyReplaceable. */
  readonly bodyReplaceable: boolean;
  readonly banner: string;
  readonly limits: SessionLimits;
  tls: boolean;
  /** HELO/EHLO argument, once given. */
  helo?: string;
  /** True after EHLO, false after HELO. */
  esmtp?: boolean;
  user?: string;
  messageCount = 0;
  rcptCount = 0;
  /** Peer and listener context values, until the connection context is first built. */
  private initial: Record<string, string> | undefined;
  private built: Map<string, string> | undefined;
  private chosen: Choices | undefined;

  constructor(init: ClientInfo) {
    this.id = init.id;
    this.remoteAddress = init.remoteAddress;
    this.remotePort = init.remotePort;
    this.localAddress = init.localAddress;
    this.localPort = init.localPort;
    this.listener = init.listener;
    this.hostname = init.hostname;
    this.banner = init.banner;
    this.limits = init.limits ?? NO_LIMITS;
    this.tls = init.tls;
    this.initial = init.context;
    this.bodyReplaceable = init.bodyReplaceable === true;
  }

  /**
   * `vctx_conn`. Built when first asked for (the first script, EHLO): a
   * connection that stays idle after its greeting holds none of it.
   */
  get context(): Map<string, string> {
    if (this.built) return this.built;
    const c = new Map(Object.entries(this.initial ?? {}));
    this.initial = undefined;
    c.set('remote_ip', this.remoteAddress);
    c.set('remote_port', String(this.remotePort));
    c.set('local_ip', this.localAddress);
    c.set('local_port', String(this.localPort));
    c.set('tls', this.tls ? 'true' : 'false');
    // As at connect: a method that changed the state since (authenticated(), countMessage()...) sets its keys right after.
    c.set('auth_status', 'none');
    c.set('connection_message_count', String(this.messageCount));
    c.set('connection_rcpt_count', String(this.rcptCount));
    this.built = c;
    return c;
  }

  /** Choices made at connect and EHLO: they hold for every transaction of the connection (made when first needed). */
  get choices(): Choices {
    return (this.chosen ??= noChoices());
  }

  /** Changes to the EHLO answer's extension lines the policy asked for, in order (decide.ts, EsmtpChange). */
  esmtpChanges?: EsmtpChange[];

  /** The choices made so far, to read: NOTHING_DECIDED while none was made (nothing is made for reading them). */
  get chosenSoFar(): Choices {
    return this.chosen ?? NOTHING_DECIDED;
  }

  /** STARTTLS completed. */
  secured(): void {
    this.tls = true;
    this.context.set('tls', 'true');
  }

  /** The client authenticated (the dry run can play one; the SMTP front door offers no AUTH yet). */
  authenticated(user: string): void {
    this.user = user;
    this.context.set('auth_status', 'authenticated');
    this.context.set('auth_user', user);
  }

  /**
   * What a front door beside another MTA learnt about the connection from
   * that MTA (milter macros, policy request attributes: docs/postfix.md,
   * "Context variables"): it joins the connection context. A server-owned
   * key (context-keys.ts) is never overwritten this way: the session sets
   * those from what it observed itself. Returns false when refused.
   */
  note(key: string, value: string): boolean {
    if (isReservedContextKey(key)) return false;
    this.context.set(key, value);
    return true;
  }

  /** EHLO or HELO with its argument, before the ehlo phase runs. */
  greeted(verb: 'EHLO' | 'HELO', domain: string, line = `${verb} ${domain}`): void {
    this.helo = domain;
    this.esmtp = verb === 'EHLO';
    this.context.set('ehlo_domain', domain);
    this.context.set('ehlo_string', line);
  }

  countMessage(): void {
    this.messageCount++;
    this.context.set('connection_message_count', String(this.messageCount));
  }

  /** A message of this connection carried `count` Received fields, past mail_loop's limit (Momentum sets this connection variable). */
  loopSuspected(count: number): void {
    this.context.set('mail_loop_header_count', String(count));
  }

  countRecipient(): void {
    this.rcptCount++;
    this.context.set('connection_rcpt_count', String(this.rcptCount));
  }
}

/** A recipient the rcptto phase accepted, with the choices made for it alone. */
export interface RecipientState {
  address: string;
  choices: Choices;
}

/** The CBV probe of a transaction's sender (docs/cbv.md, "The Momentum surface"). */
export type ProbeState =
  | { state: 'none' }
  | { state: 'running'; startedAt: number; done: Promise<void> }
  | { state: 'settled'; verdict?: Verdict; variables: Readonly<Record<string, string>> };

/** One recipient's call-ahead as the transaction's log line lists it (docs/recipient-verification.md, "Logs"). */
export interface LoggedRecipientCheck {
  recipient: string;
  /** pass | fail | transient | error, or absent when not asked. */
  result?: string;
  reason: string;
  cached?: boolean;
  /** The gateway a script chose for the recipient, asked in place of its route. */
  gateway?: string;
}

export class Transaction {
  /** `vctx_mess`: new for each transaction. */
  readonly context = new Map<string, string>();
  readonly recipients: RecipientState[] = [];
  /** Choices made at MAIL FROM (made when first needed: most transactions make none). */
  get choices(): Choices {
    return (this.chosen ??= noChoices());
  }

  /** The choices made at MAIL FROM, to read: NOTHING_DECIDED while none was made. */
  get chosenSoFar(): Choices {
    return this.chosen ?? NOTHING_DECIDED;
  }

  private chosen: Choices | undefined;
  probe: ProbeState = { state: 'none' };
  /** Recipient call-ahead results, one per RCPT TO asked about, for the transaction's log line. */
  readonly recipientChecks: LoggedRecipientCheck[] = [];
  /** When MAIL FROM made the transaction, ms since the epoch: the message's creation time (ec_get_message_creation_time). */
  readonly createdAt = Date.now();
  /** The MAIL FROM BY parameter (RFC 2852), when the client gave one. */
  deliverBy?: DeliverBy;
  /** What the transaction's scripts tested with `duplicate` (RFC 7352), recorded once its result is carried out. */
  duplicates?: DuplicateRecord[];
  /** The queue ids of the messages its scripts sent (generate_mail_raw, ec_forward), for its log line. */
  outgoing?: string[];

  constructor(
    /** The reverse-path as given ("" for the null sender). */
    readonly mailFrom: string,
    /** `<connection id>.<n>`: names the transaction in logs, Received: and the store. */
    readonly id: string,
  ) {
    const [local, domain] = splitAddress(mailFrom);
    this.context.set('mailfrom_string', mailFrom);
    this.context.set('mailfrom_localpart', local);
    this.context.set('mailfrom_domain', domain);
    this.context.set('message_rcpt_count', '0');
  }

  /** RCPT TO, before the rcptto phase decides it. */
  offer(rcpt: string): void {
    const [local, domain] = splitAddress(rcpt);
    this.context.set('rcptto_string', rcpt);
    this.context.set('rcptto_localpart', local);
    this.context.set('rcptto_domain', domain);
  }

  accept(rcpt: RecipientState): void {
    this.recipients.push(rcpt);
    this.context.set('message_rcpt_count', String(this.recipients.length));
  }

  get recipientAddresses(): string[] {
    return this.recipients.map((r) => r.address);
  }

  /** The probe's verdict settled (or was skipped, or ran out of time): its variables join the message context. */
  settle(variables: Record<string, string>, verdict?: Verdict): void {
    this.probe = { state: 'settled', variables, ...(verdict ? { verdict } : {}) };
    for (const [k, v] of Object.entries(variables)) this.context.set(k, v);
  }

  /**
   * The recipient call-ahead's variables for the RCPT TO being decided
   * (docs/recipient-verification.md): the previous recipient's go first,
   * as `rcptto_string` is replaced.
   */
  recipientVerified(prefix: string, variables: Record<string, string>, check?: LoggedRecipientCheck): void {
    for (const k of [...this.context.keys()]) if (k.startsWith(prefix)) this.context.delete(k);
    for (const [k, v] of Object.entries(variables)) this.context.set(k, v);
    if (check && this.recipientChecks.length < MAX_LISTED) this.recipientChecks.push({ recipient: check.recipient, reason: check.reason, ...(check.result ? { result: check.result } : {}), ...(check.cached !== undefined ? { cached: check.cached } : {}), ...(check.gateway !== undefined ? { gateway: check.gateway } : {}) });
  }

  /** The verdict's variables, from the verdict object rather than the script-visible Map. */
  get verdictVariables(): Readonly<Record<string, string>> {
    return this.probe.state === 'settled' ? this.probe.variables : {};
  }
}

/** Local part and domain at the last "@" (a quoted local part may hold another). */
export function splitAddress(address: string): [string, string] {
  const at = address.lastIndexOf('@');
  return at < 0 ? [address, ''] : [address.slice(0, at), address.slice(at + 1)];
}
