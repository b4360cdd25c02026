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
import { Validator, type ValidateOptions } from './validate.js';

export interface CompileOptions {
  file?: string;
  dialect?: Dialect;
  limits?: Partial<ParseLimits>;
  /** False for SMTP phases before DATA: tests that read the message are compile errors. */
  hasMessage?: boolean;
  /** The registry to validate against; the default holds every built-in extension. */
  registry?: ExtensionRegistry;
  /** Resolve `include` while compiling (see ValidateOptions.loadScript). */
  loadScript?: ValidateOptions['loadScript'];
  setting?: ValidateOptions['setting'];
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
}

export interface CompileResult {
  /** Null when there are errors: a script with errors is never run. */
  script: CompiledScript | null;
  diagnostics: Diagnostic[];
}

let defaultRegistry: ExtensionRegistry | undefined;
export function builtinRegistry(): ExtensionRegistry {
  return (defaultRegistry ??= new ExtensionRegistry(extensions));
}

export function compileSieve(text: string, options: CompileOptions = {}): CompileResult {
  const { script, diagnostics } = parseSieve(text, options);
  // Like Pigeonhole, a script that does not parse is not validated: the
  // recovered tree would give errors that are consequences, not causes.
  if (hasErrors(diagnostics)) return { script: null, diagnostics };
  const v = new Validator(options.registry ?? builtinRegistry(), {
    file: options.file,
    hasMessage: options.hasMessage,
    dialect: options.dialect,
    loadScript: options.loadScript,
    setting: options.setting,
    includes: options.includes,
  });
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
    },
    diagnostics: all,
  };
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
