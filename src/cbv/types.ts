/**
 * The vocabulary of the CBV engine: verdicts, stages, reasons and the
 * transcript. Every other file in src/cbv speaks in these types; the SMTP
 * session and the Sieve++ function only need this file and
 * engine.ts.
 */

/**
 * The Sieve function's status (docs/cbv.md, "Sieve function"): `fail` is a 5xx to
 * RCPT TO, `error` any other permanent failure.
 */
export type CbvStatus = 'pass' | 'fail' | 'error' | 'transient';

/**
 * The module's `smtp_cbv_result` (docs/cbv.md, "Result in the message context"):
 * RCPT 5xx is `error` here. `null` means the variable is left unset, which
 * happens only when no probe is made by policy (null sender, own domain, own
 * probe sender).
 */
export type CbvResult = 'pass' | 'error' | 'transient';

/** Where a verdict was decided. */
export type CbvStage = 'dns' | 'connect' | 'greeting' | 'ehlo' | 'mail' | 'rcpt' | 'policy';

/**
 * Short machine-readable reasons, one per way a check can end. They are the
 * value of `smtp_cbv_reason`; docs/cbv.md lists what each means.
 */
export type CbvReason =
  // pass
  | 'accepted'
  | 'accept-all'
  // fail (RCPT 5xx)
  | 'rejected'
  // error: permanent, before or beside RCPT
  | 'invalid-address'
  | 'null-sender'
  | 'own-domain'
  | 'own-sender'
  | 'nxdomain'
  | 'null-mx'
  | 'no-address'
  | 'no-allowed-target'
  | 'greeting-rejected'
  | 'helo-rejected'
  | 'sender-rejected'
  | 'postmaster-rejected'
  // transient
  | 'dns-servfail'
  | 'dns-timeout'
  | 'dns-error'
  | 'connect-refused'
  | 'connect-timeout'
  | 'connect-error'
  | 'timeout'
  | 'connection-lost'
  | 'protocol-error'
  | 'reply-too-long'
  | 'tempfail'
  | 'deadline'
  | 'rate-limited';

/** One line of the SMTP dialogue: C = we sent, S = the remote sent, * = an event of ours. */
export interface TranscriptLine {
  /** Milliseconds since the check started. */
  t: number;
  dir: 'C' | 'S' | '*';
  text: string;
}

export interface Verdict {
  status: CbvStatus;
  /** The value for `smtp_cbv_result`; null = leave it unset (no probe made by policy). */
  result: CbvResult | null;
  stage: CbvStage;
  reason: CbvReason;
  /** The address probed (after `map`, domain as A-label), or the input when it did not parse. */
  address: string;
  /** The MAIL FROM used, '' for the null sender. */
  sender: string;
  /** The MX host name that decided it, when a host did. */
  host?: string;
  /** The IP address connected to, when a host decided it. */
  ip?: string;
  /** The remote reply that decided it (all lines, sanitised), when a remote spoke. */
  reply?: string;
  /** The reply text, or our own reason where no remote spoke: the Sieve function's message. */
  message: string;
  /** The domain accepts any local part (only known when the catch-all check is on). */
  acceptAll?: boolean;
  cached: boolean;
  durationMs: number;
  transcript: TranscriptLine[];
}

/** `smtp_cbv_result` for a status: RCPT 5xx (`fail`) is `error` for the module (docs/cbv.md). */
export function resultOf(status: CbvStatus): CbvResult {
  return status === 'fail' ? 'error' : status;
}

/** Statuses by reason, so that a reason can never travel with the wrong status. */
export const STATUS_OF: Record<CbvReason, CbvStatus> = {
  accepted: 'pass',
  'accept-all': 'pass',
  rejected: 'fail',
  'invalid-address': 'error',
  'null-sender': 'error',
  'own-domain': 'error',
  'own-sender': 'error',
  nxdomain: 'error',
  'null-mx': 'error',
  'no-address': 'error',
  'no-allowed-target': 'error',
  'greeting-rejected': 'error',
  'helo-rejected': 'error',
  'sender-rejected': 'error',
  'postmaster-rejected': 'error',
  'dns-servfail': 'transient',
  'dns-timeout': 'transient',
  'dns-error': 'transient',
  'connect-refused': 'transient',
  'connect-timeout': 'transient',
  'connect-error': 'transient',
  timeout: 'transient',
  'connection-lost': 'transient',
  'protocol-error': 'transient',
  'reply-too-long': 'transient',
  tempfail: 'transient',
  deadline: 'transient',
  'rate-limited': 'transient',
};

/** Reasons for which no probe is made and `smtp_cbv_result` stays unset (docs/cbv.md, null sender). */
export const SKIP_REASONS: ReadonlySet<CbvReason> = new Set(['null-sender', 'own-domain', 'own-sender']);
