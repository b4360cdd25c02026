/**
 * What Sieve actions mean at SMTP time (sieve-dialect.md, "What actions mean
 * at SMTP time"). One place decides it, for the server and the dry-run
 * runner alike:
 *
 *   reject / ereject / ec_reject   550 5.7.1 <reason>; at connect 554, then close
 *   ec_action N text               reply N text (every line carries the code)
 *   ec_disconnect N text           reply N text, then close
 *   ec_tarpit S                    wait S seconds before replying (bounded by the server)
 *   discard                        success to the client, nothing delivered
 *   keep / implicit keep           accept; the message goes to the spool (INBOX)
 *   fileinto "F"                   accept into spool folder F
 *   redirect "A"                   deliver to A instead (as well, with :copy)
 *   ec_header_add / _delete        the header is edited when the message is spooled
 *   vacation, flags, ...           recorded, no effect on the reply
 *
 * A phase's decision is "final" when a script took an action that decides
 * the message's fate (anything above but ec_tarpit and the implicit keep):
 * then the phase's `_phase2` script does not run.
 */
import type { Action } from '../sieve/runtime/result.js';
import type { HeaderEdit } from './header-edits.js';
import type { Phase, PhaseOutcome, Reply } from './types.js';

export interface Decision {
  /** The reply for this phase: a refusal (4xx/5xx), or absent for the ordinary success reply. */
  reply?: Reply;
  disconnect: boolean;
  tarpitMs: number;
  /** discard was taken. */
  discard: boolean;
  /** Explicit stores (keep is "INBOX"), in order. */
  folders: string[];
  redirects: string[];
  /** The implicit keep is still in force. */
  implicitKeep: boolean;
  /** A script decided: the phase's next script does not run. */
  final: boolean;
  /** Sieve++ ec_header_add / ec_header_delete, applied when the message is spooled. */
  headerEdits: HeaderEdit[];
}

const ENHANCED = /^([245]\.\d{1,3}\.\d{1,3}) +/;

/** Splits a leading RFC 3463 enhanced code off a reply text: "5.7.1 no" -> {enhanced: "5.7.1", text: "no"}. */
export function replyFrom(code: number, text: string, defaultEnhanced?: string): Reply {
  const m = ENHANCED.exec(text);
  const enhanced = m ? m[1] : defaultEnhanced;
  const body = m ? text.slice(m[0].length) : text;
  return { code, ...(enhanced ? { enhanced } : {}), text: body.replace(/\r\n/g, '\n') || defaultText(code) };
}

function defaultText(code: number): string {
  if (code >= 500) return 'Rejected by policy';
  if (code >= 400) return 'Temporarily rejected by policy, try again later';
  return 'Ok';
}

export function emptyDecision(implicitKeep = true): Decision {
  return { disconnect: false, tarpitMs: 0, discard: false, folders: [], redirects: [], implicitKeep, final: false, headerEdits: [] };
}

export function decide(phase: Phase, actions: readonly Action[], implicitKeep: boolean): Decision {
  const d: Decision = emptyDecision(implicitKeep);
  for (const a of actions) {
    const data = (a.data ?? {}) as { code?: number; text?: string; seconds?: number; name?: string; value?: string };
    switch (a.type) {
      case 'reject':
      case 'ereject': {
        d.reply ??= replyFrom(phase === 'connect' ? 554 : 550, a.target ?? '', '5.7.1');
        if (phase === 'connect') d.disconnect = true;
        d.final = true;
        break;
      }
      case 'ec_action':
        d.reply ??= replyFrom(data.code ?? 550, data.text ?? '');
        d.final = true;
        break;
      case 'ec_disconnect':
        d.reply ??= replyFrom(data.code ?? 421, data.text ?? '');
        d.disconnect = true;
        d.final = true;
        break;
      case 'ec_tarpit':
        d.tarpitMs += Math.max(0, (data.seconds ?? 0) * 1000);
        break;
      case 'discard':
        d.discard = true;
        d.final = true;
        break;
      case 'keep':
      case 'store':
        d.folders.push(a.target || 'INBOX');
        d.final = true;
        break;
      case 'redirect':
        if (a.target) d.redirects.push(a.target);
        if (a.copy) d.folders.push('INBOX');
        d.final = true;
        break;
      case 'header_add':
      case 'header_delete':
        if (data.name) d.headerEdits.push({ op: a.type === 'header_add' ? 'add' : 'delete', name: data.name, ...(data.value !== undefined ? { value: data.value } : {}) });
        break;
      default:
        // vacation, addflag...: recorded by the interpreter, no SMTP-time effect.
        // (editheader changes the message itself: the policy spools the edited one.)
        break;
    }
  }
  return d;
}

/** A decision as the server's outcome for a phase before DATA (delivery choices are kept for DATA by the caller). */
export function outcomeOf(d: Decision): PhaseOutcome {
  return {
    ...(d.reply && d.reply.code >= 400 ? { reply: d.reply } : {}),
    ...(d.disconnect ? { disconnect: true } : {}),
    ...(d.tarpitMs ? { tarpitMs: d.tarpitMs } : {}),
  };
}
