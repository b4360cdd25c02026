/**
 * Recipient call-ahead at SMTP time (docs/recipient-verification.md):
 * at RCPT TO, ask the recipient's next hop whether it accepts the
 * recipient, and put the verdict where scripts and the log see
 * it. The session asks before the rcptto scripts when they read the
 * verdict, else only for a recipient they accept. Their refusal wins, with
 * its own reply; when they accept, a refused recipient gets 550 5.1.1 and one that
 * could not be asked 451 4.4.x: never a silent accept (a later bounce to a
 * forged sender, backscatter, is what the check exists to prevent) and
 * never a 550 without the next hop's word for it.
 *
 * Skipped, with `recipient_verify_reason` saying why and no
 * `recipient_verify_result`: a domain delivered locally (`local`), nothing
 * routed (`not-routed`), and a connection whose context sets
 * `__bypass_recipient_verify = "true"` (`bypass`). Where Recipient_Verify is
 * off, nothing is set.
 */
import type { Logger } from 'pino';
import type { VerifyOptions } from '../cbv/engine.js';
import { SKIP_REASONS, type CbvReason, type Verdict } from '../cbv/types.js';
import { RECIPIENT_VERIFY_PREFIX } from './context-keys.js';
import type { Reply } from './reply.js';
import type { ConnectionState, LoggedRecipientCheck, Transaction } from './state.js';


/**
 * What the hook needs of the verifier (src/delivery/call-ahead.ts); a dry
 * run may stand in another. `gateway`: one the rcptto scripts chose for the
 * recipient (ec_set_routing_gateway), its mail's next hop.
 */
export interface RecipientCallAhead {
  notAsked(address: string, gateway?: string): string | undefined;
  verify(address: string, opts?: VerifyOptions, gateway?: string): Promise<Verdict>;
}

/** One recipient's call-ahead: what the transaction's log line shows of it, and the reply it sets. */
export interface RecipientCheck extends LoggedRecipientCheck {
  /** The reply the recipient gets if the policy accepts it; absent: the verdict lets it through. */
  refusal?: Reply;
}

export class RecipientVerification {
  constructor(
    public verifier: RecipientCallAhead,
    private readonly logger: Logger,
  ) {}

  /**
   * Asks about `address` (or notes why not) and records the verdict on the
   * transaction. A recipient not asked about (Recipient_Verify off, a local
   * domain, a bypass) is answered at once: every recipient of a server
   * without call-ahead comes here. `gateway`: the one the rcptto scripts
   * chose for the recipient, asked in place of its route's next hop.
   */
  check(connection: ConnectionState, tx: Transaction, address: string, gateway?: string): RecipientCheck | undefined | Promise<RecipientCheck | undefined> {
    const notAsked = connection.context.get('__bypass_recipient_verify')?.toLowerCase() === 'true' ? 'bypass' : this.verifier.notAsked(address, gateway);
    if (notAsked === 'off') {
      tx.recipientVerified(RECIPIENT_VERIFY_PREFIX, {});
      return undefined;
    }
    if (notAsked) {
      const check: RecipientCheck = { recipient: address, reason: notAsked };
      tx.recipientVerified(RECIPIENT_VERIFY_PREFIX, { recipient_verify_reason: notAsked }, check);
      return check;
    }
    return this.ask(connection, tx, address, gateway);
  }

  private async ask(connection: ConnectionState, tx: Transaction, address: string, gateway: string | undefined): Promise<RecipientCheck> {
    let check: RecipientCheck;
    let verdict: Verdict;
    try {
      verdict = await this.verifier.verify(address, {}, gateway);
    } catch (err) {
      // The engine does not throw; if it ever does, the recipient is deferred, not accepted.
      this.logger.error({ event: 'recipient-verify.error', session: connection.id, recipient: address, err: String(err) }, 'recipient call-ahead failed');
      check = { recipient: address, result: 'transient', reason: 'internal-error', refusal: deferred('4.3.0', 'Recipient verification failed, try again later') };
      tx.recipientVerified(RECIPIENT_VERIFY_PREFIX, { recipient_verify_result: 'transient', recipient_verify_reason: 'internal-error' }, check);
      return check;
    }
    const skipped = SKIP_REASONS.has(verdict.reason);
    check = { recipient: address, reason: verdict.reason, cached: verdict.cached, ...(skipped ? {} : { result: verdict.status }), ...(gateway !== undefined ? { gateway } : {}) };
    const refusal = skipped ? undefined : refusalFor(verdict);
    if (refusal) check.refusal = refusal;
    tx.recipientVerified(RECIPIENT_VERIFY_PREFIX, variablesOf(verdict, skipped), check);
    this.logger.debug({ event: 'recipient-verify.result', session: connection.id, recipient: address, status: verdict.status, reason: verdict.reason, cached: verdict.cached, durationMs: verdict.durationMs }, `recipient call-ahead ${verdict.status}`);
    return check;
  }
}

/** The `recipient_verify_*` variables of a verdict (docs/recipient-verification.md). */
export function variablesOf(v: Verdict, skipped = false): Record<string, string> {
  const vars: Record<string, string> = { recipient_verify_reason: v.reason, recipient_verify_cached: v.cached ? 'true' : 'false' };
  if (!skipped) vars.recipient_verify_result = v.status;
  if (v.reply !== undefined) vars.recipient_verify_reply = v.reply;
  if (v.host !== undefined) vars.recipient_verify_host = v.ip ? `${v.host} [${v.ip}]` : v.host;
  return vars;
}

const deferred = (enhanced: string, text: string): Reply => ({ code: 451, enhanced, text });

/** RFC 3463 3.5 network and routing codes for a next hop that could not be asked. */
const TRANSIENT: Partial<Record<CbvReason, string>> = {
  'connect-refused': '4.4.1',
  'connect-timeout': '4.4.1',
  'connect-error': '4.4.1',
  timeout: '4.4.2',
  'connection-lost': '4.4.2',
  'protocol-error': '4.4.2',
  'reply-too-long': '4.4.2',
  deadline: '4.4.2',
  'dns-servfail': '4.4.3',
  'dns-timeout': '4.4.3',
  'dns-error': '4.4.3',
  'rate-limited': '4.4.5',
};

/**
 * The reply for a recipient the next hop did not accept, or undefined when
 * it did. Permanent answers are given only where the next hop (or the
 * recipient domain's own DNS) said so; anything about the path to the next
 * hop is temporary.
 */
export function refusalFor(v: Verdict): Reply | undefined {
  const said = v.reply ? ` (${nextHopText(v.reply)})` : '';
  switch (v.status) {
    case 'pass':
      return undefined;
    case 'fail':
      // RFC 3463 3.2: X.1.1, bad destination mailbox address.
      return { code: 550, enhanced: '5.1.1', text: `<${v.address}>: Recipient address rejected by the next hop${said}` };
    case 'transient':
      if (v.reason === 'tempfail') return deferred('4.4.0', `<${v.address}>: Recipient address deferred by the next hop${said}, try again later`);
      return deferred(TRANSIENT[v.reason] ?? '4.4.0', `<${v.address}>: Recipient verification failed: ${reasonText(v.reason)}, try again later`);
    case 'error':
      // The recipient's domain itself says it takes no mail (its DNS, RFC 7505): the delivery would bounce the same way.
      if (v.reason === 'null-mx') return { code: 556, enhanced: '5.1.10', text: `<${v.address}>: Recipient domain accepts no mail (null MX)` };
      if (v.reason === 'nxdomain') return { code: 550, enhanced: '5.1.2', text: `<${v.address}>: Recipient domain not found` };
      if (v.reason === 'no-allowed-target') return { code: 550, enhanced: '5.4.4', text: `<${v.address}>: Recipient domain has no usable next hop` };
      // An address the probe cannot put in a command line safely (docs/cbv.md, "One check, step by step"), though the
      // SMTP front door took it: unverified rather than refused; scripts see `invalid-address`.
      if (v.reason === 'invalid-address') return undefined;
      // The next hop would not talk to us (greeting, EHLO or our MAIL FROM refused): ours to fix, not the sender's.
      return deferred('4.4.0', `<${v.address}>: Recipient verification refused by the next hop${said}, try again later`);
  }
}

/** The next hop's reply without its codes, bounded: it goes into our own reply line (RFC 5321 4.5.3.1.5). */
function nextHopText(reply: string): string {
  const text = reply.replace(/^\d{3}[ -]?(?:[245]\.\d{1,3}\.\d{1,3} )?/, '');
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function reasonText(reason: CbvReason): string {
  if (reason.startsWith('connect-')) return 'the next hop is not reachable';
  if (reason.startsWith('dns-')) return 'the next hop could not be found';
  if (reason === 'rate-limited') return 'too many verifications at once';
  if (reason === 'timeout' || reason === 'deadline') return 'the next hop did not answer in time';
  return 'the connection to the next hop failed';
}
