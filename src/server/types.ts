/**
 * What the SMTP server and a policy say to each other. The server knows
 * SMTP; a policy (Sieve scripts, later CBV) knows what to decide. Keeping
 * this boundary narrow lets the server be tested with any policy and the
 * policy without sockets.
 */

/** SMTP phases in the order a session meets them. */
export const PHASES = ['connect', 'ehlo', 'mailfrom', 'rcptto', 'data'] as const;
export type Phase = (typeof PHASES)[number];

/** An SMTP reply. `text` may hold several lines; `enhanced` is the RFC 3463 code, when known. */
export interface Reply {
  code: number;
  enhanced?: string;
  text: string;
}

/** What to do with an accepted message (data phase). */
export interface DeliveryPlan {
  /** Accept and write nothing. */
  discard: boolean;
  /** Spool folders to store a copy in; `keep` is "INBOX". Empty with no redirects means discard. */
  folders: string[];
  /** Addresses to deliver to instead of (or, with keep, as well as) the recipients. */
  redirects: string[];
  /** The recipients the folder copies are for; absent means every accepted recipient. */
  recipients?: string[];
  /** The message to spool when the policy changed it (header edits); absent means as received. */
  message?: Buffer;
}

export interface PhaseOutcome {
  /** The reply to send; absent means the phase's ordinary success reply. */
  reply?: Reply;
  /** Close the connection after the reply. */
  disconnect?: boolean;
  /** Wait this long before replying (bounded by the server). */
  tarpitMs?: number;
  /** Data phase: where the message goes. Absent means keep (spool to INBOX). */
  delivery?: DeliveryPlan;
}

/** Per-connection state, and the per-transaction message context inside it. */
export interface SessionState {
  id: string;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** HELO/EHLO argument, once given. */
  helo?: string;
  /** True after EHLO, false after HELO. */
  esmtp?: boolean;
  tls: boolean;
  user?: string;
  /** The connection context (`vctx_conn`), including listener/peer Context values. */
  connection: Map<string, string>;
  /** The message context (`vctx_mess`): new for each transaction. */
  message: Map<string, string>;
  /** The current transaction's envelope. */
  mailFrom?: string;
  recipients: string[];
  /** Counters over the whole connection. */
  messageCount: number;
  rcptCount: number;
}

export interface PhaseInput {
  phase: Phase;
  session: SessionState;
  /** rcptto: the recipient being decided. */
  recipient?: string;
  /** data: the whole message as received (before our Received: header). */
  message?: Buffer;
}

/** Decides each phase. Implementations must not throw: a failure is an outcome (e.g. 451). */
export interface Policy {
  run(input: PhaseInput): Promise<PhaseOutcome>;
  /** Called once when a connection ends, for clean-up. */
  closeSession?(session: SessionState): void;
}

/** Accepts everything: what the server does with no policy scripts bound. */
export const acceptAll: Policy = { run: async () => ({}) };
