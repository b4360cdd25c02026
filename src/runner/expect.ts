/**
 * Compares a dry run with a case's expectations. Each mismatch is one line
 * saying what was expected and what the run gave, so a failing case reads
 * without re-running it.
 */
import type { Phase } from '../session/phases.js';
import type { Case, Pattern, PhaseExpectation } from './case.js';
import type { DryRunResult, PhaseResult } from './dry-run.js';

export function matches(p: Pattern, s: string): boolean {
  return 'exact' in p ? p.exact === s : p.regex.test(s);
}

export function showPattern(p: Pattern): string {
  return 'exact' in p ? JSON.stringify(p.exact) : p.source;
}

/** Every way the run differs from the case, as lines; empty when it passed. */
export function compare(c: Case, run: DryRunResult): string[] {
  const out: string[] = [];
  const byPhase = (phase: Phase) => run.phases.filter((p) => p.phase === phase);
  for (const [phase, want] of Object.entries(c.expect) as Array<[Phase, PhaseExpectation | PhaseExpectation[]]>) {
    const got = byPhase(phase);
    const list = Array.isArray(want) ? want : got.length ? got.map(() => want) : [want];
    if (list.every((e) => e.reached === false)) {
      if (got.length) out.push(`${phase}: expected the phase not to be reached, got ${got[0]!.replyText}`);
      continue;
    }
    if (!got.length) {
      out.push(`${phase}: expected the phase to run, but the session ended before it (${ended(run)})`);
      continue;
    }
    if (Array.isArray(want) && want.length !== got.length) out.push(`${phase}: expected ${want.length} runs (one per recipient), got ${got.length}`);
    list.forEach((e, i) => {
      const r = got[i];
      if (r) out.push(...comparePhase(e, r).map((m) => `${label(r)}: ${m}`));
    });
  }
  // A runtime error or a call without a stub fails the case unless the case expects an error there.
  for (const r of run.phases) {
    const want = c.expect[r.phase];
    const allowed = Array.isArray(want) ? want.some((e) => e.error) : want?.error;
    if (!allowed) for (const e of r.errors) out.push(`${label(r)}: error: ${e}`);
  }
  return out;
}

function comparePhase(e: PhaseExpectation, r: PhaseResult): string[] {
  const out: string[] = [];
  if (e.reached === false) out.push(`expected the phase not to be reached, got ${r.replyText}`);
  if (e.code !== undefined && e.code !== r.reply.code) out.push(`code: expected ${e.code}, got ${r.reply.code} (${r.replyText})`);
  if (e.reply && !matches(e.reply, r.replyText)) out.push(`reply: expected ${showPattern(e.reply)}, got ${JSON.stringify(r.replyText)}`);
  if (e.actions) {
    const got = r.actions.map((a) => a.type);
    if (got.join(' ') !== e.actions.join(' ')) out.push(`actions: expected [${e.actions.join(', ')}], got [${got.join(', ')}]`);
  }
  if (e.implicitKeep !== undefined && e.implicitKeep !== r.implicitKeep) out.push(`implicit_keep: expected ${e.implicitKeep}, got ${r.implicitKeep}`);
  for (const [name, p] of Object.entries(e.variables ?? {})) {
    const got = r.variables.message[name] ?? r.variables.connection[name];
    if (p === null) {
      if (got !== undefined) out.push(`variables.${name}: expected unset, got ${JSON.stringify(got)}`);
    } else if (got === undefined) out.push(`variables.${name}: expected ${showPattern(p)}, got unset`);
    else if (!matches(p, got)) out.push(`variables.${name}: expected ${showPattern(p)}, got ${JSON.stringify(got)}`);
  }
  if (e.cbvCalls) {
    const got = r.cbvCalls.map((c) => c.address);
    if (got.join(' ') !== e.cbvCalls.join(' ')) out.push(`cbv_calls: expected [${e.cbvCalls.join(', ')}], got [${got.join(', ')}]`);
  }
  const wantError = e.error;
  if (wantError && !r.errors.some((x) => matches(wantError, x))) out.push(`error: expected ${showPattern(wantError)}, got ${r.errors.length ? r.errors.map((x) => JSON.stringify(x)).join(', ') : 'none'}`);
  return out;
}

function label(r: PhaseResult): string {
  return r.recipient !== undefined ? `${r.phase} <${r.recipient}>` : r.phase;
}

function ended(run: DryRunResult): string {
  const last = run.phases.at(-1);
  return last ? `last phase run: ${label(last)}, ${last.replyText}` : 'no phase ran';
}
