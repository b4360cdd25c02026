/**
 * compile(text) -> script + diagnostics: the one entry point the CLI, the
 * server and the runner use to turn Sieve source into something runnable.
 * Parsing (grammars/sieve.ts) comes first, then validation against the
 * extension registry (src/sieve/validate.ts); the result is immutable and
 * can be executed any number of times.
 */
import { readFile } from 'node:fs/promises';
import { type Diagnostic, hasErrors } from '../diagnostics.js';
import { type Dialect, type ParseLimits, parseSieve } from '../../grammars/sieve.js';
import type { Script } from './ast.js';
import { ExtensionRegistry } from './extension-registry.js';
import { extensions } from './extensions/index.js';
import type { Bound, Extension } from './registry.js';
import type { ScriptFacts } from './facts.js';
import { Validator, type ValidateOptions } from './validate.js';
import { FUNCTIONS_STATE, usesSievepp } from './sievepp/script.js';
import { type FunctionRegistry, MESSAGE_PHASES, SIEVEPP_CAPABILITY } from './sievepp/functions.js';
import { builtinFunctions } from './sievepp/index.js';

export interface CompileOptions {
  file?: string;
  dialect?: Dialect;
  limits?: Partial<ParseLimits>;
  /** False for SMTP phases before DATA: tests that read the message are compile errors. */
  hasMessage?: boolean;
  /** The registry to validate against; the default holds every built-in extension and `functions`. */
  registry?: ExtensionRegistry;
  /**
   * The SMTP phase the script is bound to: phase-bound Sieve++ functions
   * (smtp_callback_verify) are checked now, and `hasMessage` defaults from it.
   */
  phase?: string;
  /** The Sieve++ functions (default: the built-ins; the product adds CBV, see src/policy/functions.ts). */
  functions?: FunctionRegistry;
  /** Resolve `include` while compiling (see ValidateOptions.loadScript). */
  loadScript?: ValidateOptions['loadScript'];
  setting?: ValidateOptions['setting'];
  readOnlyContextKey?: ValidateOptions['readOnlyContextKey'];
  /** Used by include for nested compiles. */
  includes?: ValidateOptions['includes'];
}

/** A validated script, ready for execute(). */
export interface CompiledScript {
  ast: Script;
  commands: Bound[];
  /** The capabilities the script required. */
  capabilities: ReadonlySet<string>;
  /** True when it required "variables": match values are kept only then (RFC 5229 3.2). */
  variables: boolean;
  /** The variable namespaces its extensions provide, installed in the runtime when it runs. */
  namespaces?: NonNullable<Extension['namespaces']>;
  file?: string;
  /** What the script and the scripts it includes use (facts.ts), for hosts that decide from it. */
  facts: ScriptFacts;
}

export interface CompileResult {
  /** Null when there are errors: a script with errors is never run. */
  script: CompiledScript | null;
  diagnostics: Diagnostic[];
}

const registries = new WeakMap<FunctionRegistry, ExtensionRegistry>();
/** Every built-in extension plus the Sieve++ functions of `functions`, built once per function registry. */
export function registryFor(functions: FunctionRegistry): ExtensionRegistry {
  let r = registries.get(functions);
  if (!r) registries.set(functions, (r = new ExtensionRegistry([...extensions, functions.extension()])));
  return r;
}
export function builtinRegistry(): ExtensionRegistry {
  return registryFor(builtinFunctions());
}

export function compileSieve(text: string, options: CompileOptions = {}): CompileResult {
  const { script, diagnostics } = parseSieve(text, options);
  // Like Pigeonhole, a script that does not parse is not validated: the
  // recovered tree would give errors that are consequences, not causes.
  if (hasErrors(diagnostics)) return { script: null, diagnostics };
  const functions = options.functions ?? builtinFunctions();
  const registry = options.registry ?? registryFor(functions);
  const hasMessage = options.hasMessage ?? (options.phase !== undefined ? MESSAGE_PHASES.has(options.phase) : undefined);
  const v = new Validator(registry, {
    file: options.file,
    hasMessage,
    dialect: options.dialect,
    phase: options.phase,
    loadScript: options.loadScript,
    setting: options.setting,
    includes: options.includes,
    readOnlyContextKey: options.readOnlyContextKey,
  });
  v.state.set(FUNCTIONS_STATE, functions);
  // Momentum: Sieve++ functions need no require; a script using Sieve++
  // interpolates "${x}" and %{vctx_*:key} without require (assign.ts, usesSievepp).
  const sievepp = registry.byCapability.get(SIEVEPP_CAPABILITY);
  if (options.dialect !== 'rfc' && sievepp) {
    v.loaded.add(sievepp);
    if (usesSievepp(script, registry)) v.sievepp = v.variables = true;
  }
  const commands = v.validateScript(script);
  const all = [...diagnostics, ...v.diagnostics];
  if (hasErrors(all)) return { script: null, diagnostics: all };
  return {
    script: {
      ast: script,
      commands,
      capabilities: v.capabilities,
      variables: v.variables,
      namespaces: [...v.loaded].flatMap((e) => e.namespaces ?? []),
      file: options.file,
      facts: v.facts,
    },
    diagnostics: all,
  };
}

/**
 * What a script compiled from inside another (RFC 6609 include) inherits:
 * the same Sieve++ functions, dialect and phase, so an included Momentum
 * policy can call what the including one can.
 */
export function inheritedOptions(v: Validator): Pick<CompileOptions, 'functions' | 'dialect' | 'phase' | 'readOnlyContextKey'> {
  return { functions: v.state.get(FUNCTIONS_STATE) as FunctionRegistry | undefined, dialect: v.options.dialect, phase: v.options.phase, readOnlyContextKey: v.options.readOnlyContextKey };
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
