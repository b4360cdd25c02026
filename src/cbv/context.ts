/**
 * A verdict as the rest of the product sees it (docs/cbv.md): the message-context
 * variables the module sets, and the Sieve function's two-element return.
 * The session (src/session) and the Sieve++ function use these, so
 * the mapping lives in one place.
 */
import type { CbvStatus, Verdict } from './types.js';

/** `smtp_cbv_*` context variables; `smtp_cbv_result` is absent when it stays unset. */
export function contextVariables(v: Verdict): Record<string, string> {
  const vars: Record<string, string> = {
    smtp_cbv_reason: v.reason,
    smtp_cbv_stage: v.stage,
    smtp_cbv_cached: v.cached ? 'true' : 'false',
  };
  if (v.result !== null) vars.smtp_cbv_result = v.result;
  if (v.reply !== undefined) vars.smtp_cbv_reply = v.reply;
  if (v.host !== undefined) vars.smtp_cbv_host = v.ip ? `${v.host} [${v.ip}]` : v.host;
  return vars;
}

/** `smtp_callback_verify`'s `[status, message]`: the remote reply, or our reason where no remote spoke. */
export function sieveReturn(v: Verdict): [CbvStatus, string] {
  return [v.status, v.message];
}
