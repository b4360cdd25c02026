/**
 * Runs a policy case file: loads the configuration or scripts it names
 * (relative to the file), plays each case as a dry run and compares. A file
 * that does not load, or a policy that does not compile, is one failed test
 * whose reason lists every positioned error.
 */
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../config/index.js';
import { type Diagnostic, formatDiagnostic, hasErrors } from '../diagnostics.js';
import type { Phase } from '../session/phases.js';
import type { TestOutcome } from '../sieve/index.js';
import type { CaseFile } from './case.js';
import { loadCaseFile } from './case-file.js';
import { type Coverage } from './coverage.js';
import { type PreparedPolicy, preparePolicy } from './dry-run.js';
import { compare } from './expect.js';
import type { PhaseSource, ScriptSource } from './session.js';

export interface CaseFileReport {
  file: string;
  outcomes: TestOutcome[];
}

export interface RunCasesOptions {
  /** Collects which lines and branches the cases exercised. */
  coverage?: Coverage;
}

export async function runCaseFile(path: string, options: RunCasesOptions = {}): Promise<CaseFileReport> {
  const loaded = await loadCaseFile(path);
  if (!loaded.file) return broken(path, loaded.diagnostics);
  const policy = await prepare(loaded.file);
  if ('diagnostics' in policy) return broken(path, policy.diagnostics);
  options.coverage?.addScripts(policy.scripts);
  // The configuration's warnings go with a failed case's reason: a Datasource without its driver explains a run's "no datasource named".
  const warned = policy.warnings.map((d) => `    ${formatDiagnostic(d, path)}`);
  const outcomes: TestOutcome[] = [];
  for (const c of loaded.file.cases) {
    const run = await policy.prepared.run({
      ...(c.phases ? { phases: c.phases } : {}),
      connection: c.connection,
      context: c.context,
      envelope: c.envelope,
      ...(c.message !== undefined ? { message: c.message } : {}),
      cbv: c.cbv,
      recipientVerify: c.recipientVerify,
      dns: c.dns,
      authentication: c.authentication,
      duplicates: c.duplicates,
      trace: options.coverage !== undefined,
    });
    options.coverage?.addRun(run);
    const problems = compare(c, run);
    const lines = [...problems.map((p) => `    ${p}`), ...(warned.length ? ['  the configuration warned:', ...warned] : [])];
    outcomes.push({ name: c.name, passed: problems.length === 0, ...(problems.length ? { reason: `(${path}:${c.at.line}:${c.at.column})\n${lines.join('\n')}` } : {}) });
  }
  return { file: path, outcomes };
}

async function prepare(file: CaseFile): Promise<{ prepared: PreparedPolicy; scripts: PreparedPolicy['scripts']; warnings: Diagnostic[] } | { diagnostics: Diagnostic[] }> {
  const dir = dirname(file.file);
  let prepared: PreparedPolicy;
  let warnings: Diagnostic[] = [];
  if (file.config) {
    const { config, diagnostics } = await loadConfig(resolve(dir, file.config));
    if (!config) return { diagnostics };
    warnings = diagnostics;
    prepared = await preparePolicy({ config, ...(file.cbvModule ? { cbvModule: file.cbvModule } : {}) });
  } else {
    const scripts: Partial<Record<Phase, PhaseSource>> = {};
    const at = (s: ScriptSource): ScriptSource => (typeof s === 'string' ? s : { file: resolve(dir, s.file) });
    for (const [phase, src] of Object.entries(file.scripts ?? {}) as Array<[Phase, PhaseSource]>) {
      scripts[phase] = typeof src === 'object' && !('file' in src) ? { ...(src.phase1 ? { phase1: at(src.phase1) } : {}), ...(src.phase2 ? { phase2: at(src.phase2) } : {}) } : at(src);
    }
    prepared = await preparePolicy({ scripts, ...(file.cbvModule ? { cbvModule: file.cbvModule } : {}) });
  }
  if (hasErrors(prepared.parts.diagnostics)) return { diagnostics: prepared.parts.diagnostics };
  return { prepared, scripts: prepared.scripts, warnings };
}

function broken(path: string, diagnostics: Diagnostic[]): CaseFileReport {
  const errors = diagnostics.filter((d) => d.severity === 'error').map((d) => `    ${formatDiagnostic(d, path)}`);
  return { file: path, outcomes: [{ name: path, passed: false, reason: `cannot run the cases:\n${errors.join('\n')}` }] };
}
