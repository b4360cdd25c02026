/**
 * Does a script read the CBV verdict? Decided from its compile-time facts
 * (src/sieve/facts.ts), including the scripts it includes: a context read
 * of a `smtp_cbv_*` key (vctx_mess_get, the vctx_mess test, the
 * `%{vctx_mess:key}` macro), or the `vnd.smtp-cbv.smtp_cbv_*` environment
 * item. A read whose key is computed at run time might be one, so it counts
 * too. A comment that mentions smtp_cbv does not.
 */
import type { ScriptFacts } from '../sieve/index.js';
import { CBV_PREFIX } from './context-keys.js';

/** Uses whose first argument names a message-context key. */
const CONTEXT_READS = ['vctx_mess_get', 'vctx_mess', 'vctx_conn_get', 'vctx_conn'];

/**
 * `prefix` names the verdict: the CBV's `smtp_cbv_` by default, or the
 * recipient call-ahead's `recipient_verify_` (docs/recipient-verification.md).
 */
export function readsVerdict(facts: ScriptFacts, prefix: string = CBV_PREFIX): boolean {
  const envItem = `vnd.smtp-cbv.${prefix}`;
  const mayBe = (key: string | null, p: string) => key === null || key.toLowerCase().startsWith(p);
  for (const name of CONTEXT_READS) if (facts.firstArguments.get(name)?.some((k) => mayBe(k, prefix))) return true;
  if (facts.firstArguments.get('environment')?.some((k) => mayBe(k, envItem))) return true;
  for (const ref of facts.references) if (ref.startsWith(`vctx_mess:${prefix}`) || ref.startsWith(`vctx_conn:${prefix}`)) return true;
  return false;
}
