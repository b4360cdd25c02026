/**
 * compile(text) -> script + diagnostics: the one entry point the CLI, the
 * server and the runner use to turn Sieve source into something runnable.
 * Parsing (grammars/sieve.ts) comes first; later stages (validation against
 * the extension registry) add their diagnostics here.
 */
import { readFile } from 'node:fs/promises';
import { type Diagnostic, hasErrors } from '../diagnostics.js';
import { type Dialect, type ParseLimits, parseSieve } from '../../grammars/sieve.js';
import type { Script } from './ast.js';

export interface CompileOptions {
  file?: string;
  dialect?: Dialect;
  limits?: Partial<ParseLimits>;
}

export interface CompileResult {
  /** Null when there are errors: a script with errors is never run. */
  script: Script | null;
  diagnostics: Diagnostic[];
}

export function compileSieve(text: string, options: CompileOptions = {}): CompileResult {
  const { script, diagnostics } = parseSieve(text, options);
  return { script: hasErrors(diagnostics) ? null : script, diagnostics };
}

/** Reads and compiles a script file; an unreadable file is a diagnostic, not an exception. */
export async function compileSieveFile(file: string, options: Omit<CompileOptions, 'file'> = {}): Promise<CompileResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return { script: null, diagnostics: [{ severity: 'error', message: `cannot read the script (${reason})`, file, line: 1, column: 1, offset: 0 }] };
  }
  return compileSieve(text, { ...options, file });
}
