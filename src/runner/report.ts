/**
 * A dry run as text, in the layout of Pigeonhole's sieve-test ("Performed
 * actions:" / "Implicit keep:"), one block per phase, followed
 * by what is ours: the SMTP reply, the CBV calls and, with --trace, each
 * command and test evaluated with its line and result.
 */
import { isAbsolute, relative } from 'node:path';
import type { Action } from '../sieve/index.js';
import { hasMessage } from '../session/phases.js';
import type { DryRunResult, PhaseResult, TraceLine } from './dry-run.js';

export function formatDryRun(run: DryRunResult, options: { trace?: boolean } = {}): string {
  return run.phases.map((p) => formatPhase(p, options.trace ?? false)).join('\n');
}

function formatPhase(p: PhaseResult, trace: boolean): string {
  const files = p.scripts.map((s) => shown(s.file ?? s.slot)).join(', ') || 'no script';
  const out: string[] = [`## ${p.phase}${p.recipient !== undefined ? ` <${p.recipient}>` : ''} (${files})`, ''];
  if (trace) {
    out.push('Trace:', '');
    out.push(...(p.trace.length ? p.trace.map(traceLine) : ['  (nothing evaluated)']), '');
  }
  out.push('Performed actions:', '');
  out.push(...(p.actions.length ? p.actions.flatMap(describe) : ['  (none)']), '');
  out.push('Implicit keep:', '');
  const keep = hasMessage(p.phase) ? 'store message in folder: INBOX' : 'accept (the message may be kept at DATA)';
  out.push(p.implicitKeep && !p.errors.length ? ` * ${keep}` : '  (none)', '');
  if (p.cbvCalls.length) {
    out.push('CBV calls:', '');
    for (const c of p.cbvCalls) out.push(` * ${c.address} (${c.by})${c.sender !== undefined ? ` sender <${c.sender}>` : ''}: ${c.status ?? 'no stub'}`);
    out.push('');
  }
  if (p.log.length) out.push('Log:', '', ...p.log.map((l) => `  ${l}`), '');
  if (p.errors.length) out.push('Errors:', '', ...p.errors.map((e) => `  ${e}`), '');
  out.push('SMTP reply:', '', ...p.replyText.split('\n').map((l) => `  ${l}`));
  // each_rcpt decides one recipient inside DATA's answer: a refusal is a DSN unless every recipient is refused (docs/server.md, "Phases").
  if (p.phase === 'each_rcpt') out.push("  (this recipient's; the client hears the data reply)");
  if (p.disconnect) out.push('  (then the connection is closed)');
  if (p.tarpitMs) out.push(`  (after a tarpit of ${p.tarpitMs / 1000} s)`);
  out.push('');
  return out.join('\n');
}

/**
 * One action as Pigeonhole's sieve-test prints it: " * " and the action,
 * then its side effects on lines of their own ("        + "): the IMAP
 * flags a store sets (RFC 5232 5) and `:copy` keeping the implicit keep
 * (RFC 3894 3). Sieve++ actions as written.
 */
export function describe(a: Action): string[] {
  const data = (a.data ?? {}) as { code?: number; text?: string; seconds?: number };
  const line = (() => {
    switch (a.type) {
      case 'keep':
      case 'store':
        return `store message in folder: ${a.target ?? 'INBOX'}`;
      case 'redirect':
        return `redirect message to: <${a.target ?? ''}>`;
      case 'discard':
        return 'discard';
      case 'reject':
      case 'ereject':
        return `reject message with reason: ${a.target ?? ''}`;
      case 'ec_action':
      case 'ec_disconnect':
        return `${a.type} ${data.code ?? ''} ${JSON.stringify(data.text ?? '')}`;
      case 'ec_tarpit':
        return `ec_tarpit ${data.seconds ?? 0} s`;
      default:
        return a.target !== undefined ? `${a.type} ${a.target}` : a.type;
    }
  })();
  const effects: string[] = [];
  if ((a.type === 'keep' || a.type === 'store') && a.flags?.length) effects.push(`add IMAP flags:${a.flags.map((f) => ` ${imapFlag(f)}`).join('')}`);
  if (a.copy) effects.push('preserve implicit keep');
  return [` * ${line}`, ...effects.map((e) => `        + ${e}`)];
}

/** Pigeonhole prints system flags (RFC 3501 2.3.2) in lower case and keywords as given. */
function imapFlag(flag: string): string {
  return flag.startsWith('\\') ? flag.toLowerCase() : flag;
}

function traceLine(t: TraceLine): string {
  const where = `${shown(t.file ?? t.slot)}:${t.event.pos.line}:${t.event.pos.column}`;
  return t.event.kind === 'test' ? `  ${where}: test ${t.event.name} => ${t.event.result}` : `  ${where}: ${t.event.name}`;
}

/** Script paths relative to where the command runs: shorter, and what the user typed. */
function shown(file: string): string {
  return isAbsolute(file) ? relative(process.cwd(), file) || file : file;
}
