/**
 * The scripts a configuration binds, compiled by phase and slot: what the
 * server serves and the dry run plays. Every phase the schema accepts is
 * run (spool and each_rcpt inside DATA's answer: src/session/message-phases.ts);
 * a script for a phase this server did not know would be a warning. One that
 * cannot be read is an error at the configuration line that names it.
 */
import { readFile } from 'node:fs/promises';
import { type Config, referencedScripts } from '../config/index.js';
import type { Diagnostic } from '../diagnostics.js';
import { isPhase, type Phase } from '../session/phases.js';
import type { PhaseScripts } from '../session/policy.js';
import { compileSieveInSlices } from '../sievepp/compile.js';
import type { ExternalList } from '../sieve/index.js';
import { policyCompileOptions } from './compile-options.js';
import { loadExternalLists } from './external-lists.js';

/** How long a compile runs before other work gets a turn (the interpreter's time slice is the same order: docs/sieve-interpreter.md). */
const COMPILE_SLICE_MS = 10;

/** The scripts and the external lists they test against (RFC 6134), read together so that a reload reads both. */
export async function compileConfigScripts(
  config: Config,
  sliceMs = COMPILE_SLICE_MS,
): Promise<{ scripts: Partial<Record<Phase, PhaseScripts>>; externalLists: Map<string, ExternalList>; diagnostics: Diagnostic[] }> {
  const scripts: Partial<Record<Phase, PhaseScripts>> = {};
  const { lists: externalLists, diagnostics } = await loadExternalLists(config);
  if (!config.sieve.enabled) return { scripts, externalLists, diagnostics };
  const knownList = (name: string) => externalLists.has(name);
  for (const ref of referencedScripts(config)) {
    const where = { file: ref.declaredAt.file, line: ref.declaredAt.line, column: ref.declaredAt.column, offset: 0 };
    if (!isPhase(ref.phase)) {
      diagnostics.push({ severity: 'warning', message: `the ${ref.phase} phase is not run by this server; ${ref.path} is ignored`, ...where });
      continue;
    }
    let text: string;
    try {
      text = await readFile(ref.path, 'utf8');
    } catch (e) {
      diagnostics.push({ severity: 'error', message: `cannot read the script (${(e as NodeJS.ErrnoException).code ?? e}): ${ref.path}`, ...where });
      continue;
    }
    // In turns of the event loop: a reload compiles while every session is served (docs/server.md, "SIGHUP").
    const compiled = await compileSieveInSlices(text, { file: ref.path, ...policyCompileOptions(ref.path, { dialect: config.sieve.dialect, phase: ref.phase }), knownList, sliceMs });
    diagnostics.push(...compiled.diagnostics);
    if (compiled.script) (scripts[ref.phase] ??= {})[ref.order === 1 ? 'phase1' : 'phase2'] = compiled.script;
  }
  return { scripts, externalLists, diagnostics };
}
