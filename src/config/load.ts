/**
 * The configuration loader's public face: file or text in, a typed Config or
 * positioned diagnostics out. Nothing is thrown: whatever the input (missing
 * file, directory, binary, deep nesting), the result is a value.
 */
import path from 'node:path';
import { type Diagnostic, hasErrors, sortDiagnostics } from '../diagnostics.js';
import { buildConfig } from './build.js';
import { type XStatement, expandFile, expandText } from './includes.js';
import { START, diagnosticAt } from './origin.js';
import { rootScope } from './schema.js';
import type { Config, SievePhase, SourceRef } from './types.js';
import { walkRoot } from './walk.js';

export interface LoadResult {
  /** Null when any error was found: a half-valid configuration is not run. */
  config: Config | null;
  diagnostics: Diagnostic[];
}

/** Past this many diagnostics a listing helps nobody (a file of 30,000 duplicate scopes); the rest are counted. */
export const MAX_DIAGNOSTICS = 200;

function finish(file: string, statements: XStatement[], diagnostics: Diagnostic[]): LoadResult {
  const root = walkRoot(rootScope, statements, { file, includedFrom: [] }, diagnostics);
  const config = buildConfig(root, file, diagnostics);
  sortDiagnostics(diagnostics);
  if (diagnostics.length > MAX_DIAGNOSTICS) {
    const more = diagnostics.length - MAX_DIAGNOSTICS;
    diagnostics.length = MAX_DIAGNOSTICS;
    diagnostics.push({ ...diagnostics[MAX_DIAGNOSTICS - 1]!, severity: 'error', message: `${more} more errors not shown` });
  }
  return { config: hasErrors(diagnostics) ? null : config, diagnostics };
}

/** The loader's boundary: an exception here is our bug, reported as a diagnostic rather than a crash. */
function guarded(file: string, run: () => LoadResult): LoadResult {
  try {
    return run();
  } catch (e) {
    const message = `internal error while loading the configuration: ${e instanceof Error ? e.message : String(e)}`;
    return { config: null, diagnostics: [diagnosticAt({ file, includedFrom: [] }, START, message)] };
  }
}

/**
 * Parses configuration text as if it were the contents of `file`; includes
 * resolve relative to `file`'s directory, as do relative paths in options.
 */
export function parseConfigText(text: string, file = '<input>'): LoadResult {
  return guarded(file, () => {
    const { statements, diagnostics } = expandText(text, file);
    return finish(file, statements, diagnostics);
  });
}

/** Reads, includes, validates. The promise never rejects. */
export async function loadConfig(file: string): Promise<LoadResult> {
  return guarded(file, () => {
    const { statements, diagnostics } = expandFile(file);
    return finish(file, statements, diagnostics);
  });
}

/** The diagnostics for a configuration file alone (scripts are not compiled). */
export async function checkConfigFile(file: string): Promise<Diagnostic[]> {
  return (await loadConfig(file)).diagnostics;
}

export interface ScriptReference {
  phase: SievePhase;
  order: 1 | 2;
  /** Absolute path. */
  path: string;
  declaredAt: SourceRef;
}

/** Every Sieve script the configuration names, in phase order, for `check` to compile. */
export function referencedScripts(config: Config): ScriptReference[] {
  return config.sieve.scripts.map((s) => ({ phase: s.phase, order: s.order, path: path.resolve(s.path), declaredAt: { ...s.declaredAt } }));
}
