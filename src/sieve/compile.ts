/**
 * compile(text) -> script + diagnostics: the one entry point the CLI, the
 * server and the runner use to turn Sieve source into something runnable.
 * Parsing (grammars/sieve.ts) comes first, then validation against the
 * extension registry (src/sieve/validate.ts); the result is immutable and
 * can be executed any number of times.
 */
import { readFile } from 'node:fs';
import { type Diagnostic, hasErrors } from '../diagnostics.js';
import { type ParseLimits, type ParseOptions, type ParseResult, parseSieve, parseSieveInSlices } from '../../grammars/sieve.js';
import type { Script } from './ast.js';
import { ExtensionRegistry } from './extension-registry.js';
import { extensions } from './extensions/index.js';
import type { LanguageLayer } from './language.js';
import type { ScriptFacts } from './facts.js';
import type { Bound, Extension } from './registry.js';
import { nextTurn } from '../next-turn.js';
import { Validator, type ValidateOptions } from './validate.js';

export interface CompileOptions {
  file?: string;
  limits?: Partial<ParseLimits>;
  /** False where there is no message yet (SMTP phases before DATA): tests that read the message are compile errors. */
  hasMessage?: boolean;
  /** The registry to validate against; the default holds every built-in extension and the language's. */
  registry?: ExtensionRegistry;
  /** A language on top of standard Sieve (Momentum's Sieve++: src/sievepp/compile.ts); none: standard Sieve. */
  language?: LanguageLayer;
  /** Resolve `include` while compiling (see ValidateOptions.loadScript). */
  loadScript?: ValidateOptions['loadScript'];
  setting?: ValidateOptions['setting'];
  /** The external lists the host knows (RFC 6134; see ValidateOptions.knownList). */
  knownList?: ValidateOptions['knownList'];
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

let core: ExtensionRegistry | undefined;
const layered = new WeakMap<readonly Extension[], ExtensionRegistry>();
/** Every built-in extension plus a language's, built once per language extension list. */
export function registryFor(language?: LanguageLayer): ExtensionRegistry {
  if (!language || language.extensions.length === 0) return (core ??= new ExtensionRegistry(extensions));
  let r = layered.get(language.extensions);
  if (!r) layered.set(language.extensions, (r = new ExtensionRegistry([...extensions, ...language.extensions])));
  return r;
}

export function compileSieve(text: string, options: CompileOptions = {}): CompileResult {
  const parsed = parseFor(text, options);
  if (!parsed.script) return { script: null, diagnostics: parsed.diagnostics };
  const v = validatorFor(options);
  options.language?.prepare?.(parsed.script, v);
  return result(parsed.script, parsed.diagnostics, v, v.validateScript(parsed.script), options);
}

/**
 * compileSieve in turns of the event loop, for a host that compiles while
 * it serves (a reload): the lexing is one turn, then the parse
 * (parseSieveInSlices) and validation (Validator.validateScriptInSlices)
 * go on in turns of `sliceMs`, so other work waits for no more than the
 * lexing or one top-level rule. The same result.
 */
export async function compileSieveInSlices(text: string, options: CompileOptions & { sliceMs: number }): Promise<CompileResult> {
  const parsed = withoutErrors(await parseSieveInSlices(text, { ...parseOptions(options), sliceMs: options.sliceMs }));
  if (!parsed.script) return { script: null, diagnostics: parsed.diagnostics };
  await nextTurn();
  const v = validatorFor(options, options.sliceMs);
  options.language?.prepare?.(parsed.script, v);
  return result(parsed.script, parsed.diagnostics, v, await v.validateScriptInSlices(parsed.script, options.sliceMs), options);
}

function parseFor(text: string, options: CompileOptions): { script: Script | null; diagnostics: Diagnostic[] } {
  return withoutErrors(parseSieve(text, parseOptions(options)));
}

const parseOptions = (options: CompileOptions): ParseOptions => ({ file: options.file, dialect: options.language?.dialect ?? 'rfc', limits: options.limits });

/** Like Pigeonhole, a script that does not parse is not validated: the recovered tree would give errors that are consequences, not causes. */
function withoutErrors({ script, diagnostics }: ParseResult): { script: Script | null; diagnostics: Diagnostic[] } {
  return hasErrors(diagnostics) ? { script: null, diagnostics } : { script, diagnostics };
}

/** The validator of a compile; `sliceMs` for one in turns, whose included scripts are compiled in turns too. */
function validatorFor(options: CompileOptions, sliceMs?: number): Validator {
  const language = options.language;
  const registry = options.registry ?? registryFor(language);
  const nested = (more: Parameters<NonNullable<ValidateOptions['compileNested']>>[1]): CompileOptions => ({ language, registry, hasMessage: options.hasMessage, limits: options.limits, knownList: options.knownList, ...more });
  return new Validator(registry, {
    file: options.file,
    hasMessage: options.hasMessage,
    language,
    loadScript: options.loadScript,
    setting: options.setting,
    knownList: options.knownList,
    includes: options.includes,
    // RFC 6609: an included script is compiled as this one was (same extensions, same language).
    compileNested: (t, more) => compileSieve(t, nested(more)),
    ...(sliceMs !== undefined ? { compileNestedInSlices: (t: string, more: Parameters<typeof nested>[0]) => compileSieveInSlices(t, { ...nested(more), sliceMs }) } : {}),
  });
}

function result(script: Script, parsed: Diagnostic[], v: Validator, commands: Bound[], options: CompileOptions): CompileResult {
  const all = [...parsed, ...v.diagnostics];
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

/** Reads and compiles a script file; an unreadable file is a diagnostic, not an exception. */
export async function compileSieveFile(file: string, options: Omit<CompileOptions, 'file'> = {}): Promise<CompileResult> {
  let text: string;
  try {
    // node:fs's callback form: node:fs/promises (and the modules it loads) is not needed to check a script.
    text = await new Promise<string>((resolve, reject) => readFile(file, 'utf8', (e, t) => (e ? reject(e) : resolve(t))));
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return { script: null, diagnostics: [{ severity: 'error', message: `cannot read the script (${reason})`, file, line: 1, column: 1, offset: 0 }] };
  }
  return compileSieve(text, { ...options, file });
}
