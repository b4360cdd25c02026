/**
 * The libraries a policy's sessions would load on first use, loaded before
 * a server serves with that policy (at start and at each reload) instead
 * of by its first message.
 *
 * They are loaded lazily so that `smtp-cbv check` and a policy that never
 * needs them do not pay for them (docs/architecture.md, "Start-up"), and
 * each loads synchronously, as CommonJS: the first session to need one
 * held the event loop, and every other session with it, for as long as the
 * load took. Measured on the 2-CPU test machine, in a fresh process:
 * mailauth 270-480 ms, libmime 90 ms, mailsplit 80 ms (with libmime),
 * re2js 24 ms. A load made here holds the sessions of a running server too
 * when a reload brings the first script that needs it, but once, at the
 * reload, not under a message.
 */
import { mailauthModule } from '../auth/checks.js';
import { loadMailsplit } from '../session/disclaimers.js';
import { re2js } from '../sieve/match/re2.js';
import { libmime } from '../sieve/runtime/libmime.js';
import { splitterClass } from '../sieve/runtime/mailsplit-adapter.js';
import type { CompiledScript } from '../sieve/compile.js';
import { MESSAGE_PHASES } from '../sievepp/compile.js';

/** What warmUp loaded, by name, for the log line and tests. */
export type Warmed = Array<'re2js' | 'libmime' | 'mailsplit' | 'mailauth'>;

/**
 * Loads what the scripts may need: re2js for any script (a `:regex`
 * match is not among the facts a script records, and the module is
 * small); libmime and the MIME splitter when a script runs where there is
 * a message (its tests read MIME structure and encoded words); mailsplit's
 * rewriter for disclaimer_add; mailauth for ec_dkim_sign and for the
 * opendkim module's own signing. Returns what it
 * loaded (each loads once per process: a second call costs nothing).
 */
export function warmUp(scripts: Iterable<{ phase: string; script: CompiledScript }>, config: { dkimAutoSign?: unknown } = {}): Warmed {
  const warmed: Warmed = [];
  let any = false;
  let message = false;
  let disclaimers = false;
  // The opendkim module signs without a script asking (src/session/dkim-auto.ts).
  let signs = Boolean(config.dkimAutoSign);
  for (const { phase, script } of scripts) {
    any = true;
    if (MESSAGE_PHASES.has(phase)) message = true;
    if (script.facts.names.has('disclaimer_add')) disclaimers = true;
    if (script.facts.names.has('ec_dkim_sign')) signs = true;
  }
  if (any) {
    re2js();
    warmed.push('re2js');
  }
  if (message) {
    libmime();
    splitterClass();
    warmed.push('libmime');
  }
  if (disclaimers) loadMailsplit();
  if (message || disclaimers) warmed.push('mailsplit');
  if (signs) {
    mailauthModule();
    warmed.push('mailauth');
  }
  return warmed;
}
