/**
 * `smtp_recipient_verify <address> [<sender>]` (docs/recipient-verification.md,
 * "Sieve function"): the recipient call-ahead as a Momentum Sieve++
 * function, modelled on Momentum's smtp_rcptto_proxy. Like
 * `smtp_callback_verify` it returns `[status, message]`: status pass | fail
 * | transient | error, message the next hop's reply or our reason; the
 * optional sender replaces `recipient_verify_sender` for the call, as
 * smtp_rcptto_proxy's `mailfrom`. It asks whatever `Recipient_Verify`
 * says, through the same cache, single flight and limits as the automatic
 * check.
 *
 * The function finds the verifier at run time in the host's services under
 * RECIPIENT_VERIFY_SERVICE (src/policy/functions.ts puts it there); a host
 * without one gets a runtime error.
 */
import { verifierFunction } from '../cbv/sieve-function.js';
import type { SieveFunction } from '../sievepp/index.js';

/** The key of SieveHost.services that holds the verifier. */
export const RECIPIENT_VERIFY_SERVICE = 'recipient-verify';

export const smtpRecipientVerify: SieveFunction = verifierFunction({
  name: 'smtp_recipient_verify',
  service: RECIPIENT_VERIFY_SERVICE,
  // A recipient is known from RCPT TO on.
  phases: ['rcptto', 'data', 'each_rcpt'],
  missing: 'no recipient verification is configured for this run',
});
