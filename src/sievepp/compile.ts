/**
 * Compiling a policy script as smtp-cbv runs it: standard Sieve with
 * Momentum's Sieve++ layered on (language.ts), in the 'momentum' dialect
 * unless 'rfc' is asked for. The CLI, the server and the runner compile
 * through here; the Sieve core's compileSieve (src/sieve/compile.ts) knows
 * standard Sieve only.
 */
import type { Dialect } from '../../grammars/sieve.js';
import * as core from '../sieve/compile.js';
import type { ExtensionRegistry } from '../sieve/extension-registry.js';
import type { FunctionRegistry } from './functions.js';
import { builtinFunctions } from './builtins.js';
import { momentumLanguage } from './language.js';

export type { CompiledScript, CompileResult } from '../sieve/compile.js';

/** Phases where a message exists (docs/server.md, "Phases"). */
export const MESSAGE_PHASES: ReadonlySet<string> = new Set(['data', 'each_rcpt', 'spool']);

export interface CompileOptions extends Omit<core.CompileOptions, 'language'> {
  /** 'momentum' (default) runs standard Sieve and Sieve++; 'rfc' standard Sieve only. */
  dialect?: Dialect;
  /**
   * The SMTP phase the script is bound to: phase-bound Sieve++ functions
   * (smtp_callback_verify) are checked now, and `hasMessage` defaults from it.
   */
  phase?: string;
  /** The Sieve++ functions (default: the built-ins; the product adds CBV, see src/policy/functions.ts). */
  functions?: FunctionRegistry;
  /** Context keys only the host writes: vctx_*_set or _delete of a constant one is a compile error. */
  readOnlyContextKey?: (key: string) => boolean;
}

function coreOptions(options: CompileOptions): core.CompileOptions {
  const { dialect, phase, functions, readOnlyContextKey, ...rest } = options;
  const hasMessage = rest.hasMessage ?? (phase !== undefined ? MESSAGE_PHASES.has(phase) : undefined);
  return { ...rest, hasMessage, language: momentumLanguage(functions ?? builtinFunctions(), dialect ?? 'momentum', phase, readOnlyContextKey) };
}

export function compileSieve(text: string, options: CompileOptions = {}): core.CompileResult {
  return core.compileSieve(text, coreOptions(options));
}

/** compileSieve in turns of the event loop (the core's compileSieveInSlices), for a server compiling while it serves. */
export function compileSieveInSlices(text: string, options: CompileOptions & { sliceMs: number }): Promise<core.CompileResult> {
  return core.compileSieveInSlices(text, { ...coreOptions(options), sliceMs: options.sliceMs });
}

export function compileSieveFile(file: string, options: Omit<CompileOptions, 'file'> = {}): Promise<core.CompileResult> {
  return core.compileSieveFile(file, coreOptions(options));
}

/** The registry a script is validated against: every built-in extension plus the Sieve++ functions of `functions`. */
export function registryFor(functions: FunctionRegistry = builtinFunctions()): ExtensionRegistry {
  return core.registryFor(momentumLanguage(functions));
}
