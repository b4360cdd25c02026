/**
 * The validator: gives the parsed script meaning against the extension
 * registry, reports positioned errors in Sieve's words, and produces the
 * bound tree the interpreter runs.
 *
 * The order of checks and the wording follow Pigeonhole's validator, so that
 * scripts get the same errors (and Pigeonhole's conformance suite, which
 * counts them, agrees): command known and of the right kind, tags, positional
 * count, sub-tests, block, then argument types and the command's own checks,
 * then descent into its tests and block. One bad command gives one error.
 */
import type { Argument, Invocation, Script, Statement } from './ast.js';
import type { Diagnostic, Position } from '../diagnostics.js';
import type { ExtensionRegistry, Owned } from './extension-registry.js';
import type { Bound, CommandDef, Extension, TagSpec, Value } from './registry.js';
import type { CompileOptions, CompileResult } from './compile.js';
import type { LanguageLayer } from './language.js';
import type { Comparator } from './match/comparators.js';
import { argumentsOf, makeTagChoices, type TagChoice, typesOf } from './validate-arguments.js';
import { blockShape, type Describe, subtestCount } from './validate-shape.js';
import { Sequence } from './validate-sequence.js';
import { NO_BOUNDS, newBound } from './bound.js';

export { newBound } from './bound.js';
import { FactsCollector } from './facts.js';
import { decodeEncodedCharacters, type EncodedCharError, parseTemplate, type Template } from './runtime/strings.js';
import { validateInSlices } from './validate-in-slices.js';

export interface ValidateOptions {
  file?: string;
  /**
   * Reads a script for `include` at compile time (RFC 6609 3.2; Pigeonhole
   * links includes when compiling): the text, or null when there is none.
   * Without it, includes are loaded when they run.
   */
  loadScript?: (name: string, location: 'personal' | 'global') => string | null;
  /** Compile-time settings under Pigeonhole's names (e.g. sieve_include_max_includes). */
  setting?: (name: string) => string | undefined;
  /** Set by include for the scripts it compiles: the chain of includes, and the count shared by all. */
  includes?: { stack: string[]; count: { n: number } };
  /** A language on top of the core (Momentum's Sieve++, language.ts); none: standard Sieve only. */
  language?: LanguageLayer;
  /** Compiles a script an `include` names, with the options this one was compiled with (compile.ts). */
  compileNested?: (text: string, options: Pick<CompileOptions, 'file' | 'loadScript' | 'setting' | 'includes' | 'knownList'>) => CompileResult;
  /** compileNested in turns of the event loop, for a compile that is in turns itself (validate-in-slices.ts). */
  compileNestedInSlices?: (text: string, options: Pick<CompileOptions, 'file' | 'loadScript' | 'setting' | 'includes' | 'knownList'>) => Promise<CompileResult>;
  /** False in SMTP phases before DATA: tests that read the message are refused. Default true. */
  hasMessage?: boolean;
  /**
   * RFC 6134: is there an external list of this normalised name? Given by
   * hosts that know their lists when compiling, so that `redirect :list`
   * to an unknown list is a compile error; without it only the name's form is checked.
   */
  knownList?: (name: string) => boolean;
}

/** Pigeonhole's limit on match value references. */
export const MAX_MATCH_INDEX = 32;

export class Validator {
  readonly diagnostics: Diagnostic[] = [];
  /** Extensions loaded by `require`; the core is always there. */
  readonly loaded = new Set<Extension>();
  readonly capabilities = new Set<string>();
  /** Set by extensions when required (encoded-character, variables). */
  decodeEncoded = false;
  variables = false;
  private requireOpen = true;
  private unknownCommands = new Set<string>();
  /** Unknown tags reported so far, by command: each is reported once (validate-arguments.ts). */
  readonly unknownTags = new Set<string>();
  private counted = 0;
  private errors = 0;
  /** tagsFor's answers; emptied when a `require` changes what is loaded. */
  private tagChoices = new WeakMap<CommandDef, Map<string, TagChoice>>();
  /** The commands whose blocks are being validated, outermost first (foreverypart's break looks here). */
  readonly enclosing: Bound[] = [];
  /** The language layer's own string expansion is on (its prepare decides: Sieve++ macros). */
  layerStrings = false;
  /** The comparator for tests that name none, when a language changes it (RFC 5228 2.7.3's is i;ascii-casemap). */
  defaultComparator: Comparator | undefined;
  /** Variable namespaces extensions registered (RFC 5229 3), e.g. "env". */
  readonly namespaces = new Set<string>();
  /** Per-script state extensions keep during validation (e.g. include's global names). */
  readonly state = new Map<string, unknown>();
  /** What the script uses (facts.ts), recorded as it is bound. */
  readonly facts = new FactsCollector();

  constructor(
    readonly registry: ExtensionRegistry,
    readonly options: ValidateOptions = {},
  ) {
    const core = registry.byCapability.get('');
    if (core) this.loaded.add(core);
  }

  error(pos: Position, message: string): void {
    this.diagnostics.push({ severity: 'error', message, file: this.options.file, ...pos });
  }

  warning(pos: Position, message: string): void {
    this.diagnostics.push({ severity: 'warning', message, file: this.options.file, ...pos });
  }

  /** RFC 5228 3.2: loads a capability; returns false when it is unknown. */
  require(capability: string, at: Invocation): boolean {
    const ext = this.registry.byCapability.get(capability);
    const layer = this.options.language;
    if (!ext) {
      const alias = layer?.requireAlias?.(capability);
      return alias !== undefined && alias.every((c) => this.require(c, at));
    }
    if (capability === '' || (layer?.requirable && !layer.requirable(ext))) return false;
    if (!this.loaded.has(ext)) {
      this.loaded.add(ext);
      this.tagChoices = new WeakMap();
      this.capabilities.add(capability);
      for (const ns of ext.namespaces ?? []) this.namespaces.add(ns.name);
      ext.onRequire?.(this, at);
    }
    return true;
  }

  /** `require` is allowed only at the top, before any other command (RFC 5228 3.2). */
  get requireAllowed(): boolean {
    return this.requireOpen;
  }

  validateScript(script: Script): Bound[] {
    return this.finish(script, this.block(script.commands, 0));
  }

  /**
   * validateScript in turns of the event loop: statements are validated
   * `sliceMs` at a time, those of a large block too (validate-in-slices.ts),
   * and other work (every session, when a server reloads its policy) runs
   * between.
   */
  async validateScriptInSlices(script: Script, sliceMs: number): Promise<Bound[]> {
    return this.finish(script, await validateInSlices(this, script.commands, 0, { sliceMs, since: performance.now() }));
  }

  /** RFC 5228 3.2's rule for extensions that need others, checked once the whole script is read. */
  private finish(script: Script, out: Bound[]): Bound[] {
    for (const ext of this.loaded) {
      for (const other of ext.alsoRequires ?? []) {
        // Loaded, not just required: a language layer may load extensions without `require` (Sieve++ does).
        const needed = this.registry.byCapability.get(other);
        if (!needed || !this.loaded.has(needed)) this.error(script.pos, `the ${ext.capability} extension cannot be used without the ${other} extension`);
      }
    }
    return out;
  }

  block(stmts: Statement[], depth: number): Bound[] {
    const seq = new Sequence(this, depth);
    for (const s of stmts) seq.add(s);
    return seq.bound();
  }

  /** Marks that a statement other than `require` was seen (RFC 5228 3.2). */
  closeRequire(): void {
    this.requireOpen = false;
  }

  /** Is this extension loaded (by `require`, or the core)? */
  enabled(ext: Extension): boolean {
    return this.loaded.has(ext);
  }

  /** A definition by name, when its extension is loaded. */
  lookup<T>(map: Map<string, Owned<T>>, name: string): T | undefined {
    const o = map.get(name);
    return o && this.enabled(o.ext) ? o.def : undefined;
  }

  /** Validates one command or test (or, given `given`, a Sieve++ call); returns null when it has errors. */
  invocation(node: Invocation, as: 'command' | 'test', depth: number, given?: CommandDef): Bound | null {
    const o = this.opened(node, as, depth, given);
    if (o === null) return null;
    return this.closed(o, o.block && this.block(o.block, depth + 1));
  }

  /**
   * An invocation validated up to its block: null when it is unknown or of
   * the wrong kind. With a block to validate, it is the enclosing command
   * until `closed` is given the block's bound statements (validated then or
   * later, in turns: validate-in-slices.ts).
   */
  opened(node: Invocation, as: 'command' | 'test', depth: number, given?: CommandDef): Opened | null {
    const o = this.openedHead(node, as, depth, given);
    if (o === null) return null;
    for (const t of this.testsOf(o)) this.tested(o, this.invocation(t, 'test', depth));
    return this.openedTail(o);
  }

  /** An invocation validated up to its tests (opened's first part; validate-in-slices.ts takes a large test list in turns). */
  openedHead(node: Invocation, as: 'command' | 'test', depth: number, given?: CommandDef): Opened | null {
    const def = given ?? this.lookup(this.registry.commands, node.name);
    if (!def) {
      if (!this.unknownCommands.has(node.name)) {
        this.unknownCommands.add(node.name);
        this.error(node.pos, this.options.language?.unknown?.(this, node, as) ?? `unknown ${as} '${node.raw}' (only reported once at first occurrence)`);
      }
      return null;
    }
    if (def.kind !== as && def.kind !== 'hybrid') {
      this.error(node.pos, `attempted to use ${def.kind} '${node.raw}' as ${as}`);
      return null;
    }
    // A layer's functions (Sieve++, src/sievepp) are "functions" in messages, as Momentum calls them.
    // Named for messages only: made when one is written (a node's `raw` is read from the text).
    const what: Describe = () => `${node.raw} ${'fn' in def ? 'function' : as}`;
    const b = newBound(node, def);
    let ok = argumentsOf(this, b, what);
    if (!ok) subtestCount(this, b, what);
    else ok = subtestCount(this, b, what) && (as === 'test' || blockShape(this, b, what)) && typesOf(this, b, what);
    if (ok && def.needsMessage && this.options.hasMessage === false) {
      this.error(node.pos, `the ${what()} needs a message, and there is none at this point of the SMTP session`);
      ok = false;
    }
    if (ok) {
      const choices = this.tagsFor(def);
      const before = this.errorCount();
      for (const name of b.tags.keys()) {
        const spec = choices.get(name)?.spec;
        spec?.check?.(b, this);
        // A tag that gives its command another meaning (RFC 6134 `redirect :list`) brings its own checks and run.
        if (spec?.instead) b.def = insteadDef(def, spec);
      }
      ok = this.errorCount() === before;
    }
    if (ok && b.def.validate) {
      const before = this.errorCount();
      b.def.validate(b, this);
      ok = this.errorCount() === before;
    }
    return { b, ok, def, as };
  }

  /**
   * The tests to descend into, so that errors further in are found in the
   * same run; a command that takes no tests has its stray "tests" reported
   * once, by openedHead.
   */
  testsOf(o: Opened): readonly Invocation[] {
    return (o.def.tests ?? 'none') === 'none' ? [] : o.b.node.tests;
  }

  /** One of testsOf(o), validated: `tb`, or null when it has errors. */
  tested(o: Opened, tb: Bound | null): void {
    if (!tb) o.ok = false;
    else if (o.b.tests === NO_BOUNDS) o.b.tests = [tb];
    else o.b.tests.push(tb);
  }

  /** The rest of opened, once its tests are validated. */
  openedTail(o: Opened): Opened {
    const { b, def, as } = o;
    const cmd = b.node as Invocation & { block?: Statement[] | null };
    // A block behind a test that is false at compile time is skipped, unvalidated (RFC 5463 4).
    const never = b.tests.length === 1 && b.tests[0]!.def.constant?.(b.tests[0]!) === false;
    if (never) b.block = [];
    else if (as === 'command' && cmd.block && (def.block ?? 'none') !== 'none') {
      this.enclosing.push(b);
      o.block = cmd.block;
      o.errorsBefore = this.errorCount();
    }
    return o;
  }

  /** The rest of an opened invocation, given its block's bound statements if it has a block; null when it has errors. */
  closed(o: Opened, block: Bound[] | undefined): Bound | null {
    const { b } = o;
    let ok = o.ok;
    if (o.block) {
      b.block = block!;
      this.enclosing.pop();
      if (this.errorCount() !== o.errorsBefore) ok = false;
    }
    if (!ok) return null;
    this.facts.bound(b);
    return b;
  }

  /**
   * Errors so far. Asked several times per command, so the diagnostics are
   * counted once each, from where the last count stopped (include.ts adds
   * some of its own, so a counter in error() would miss them).
   */
  errorCount(): number {
    const all = this.diagnostics;
    for (let i = this.counted; i < all.length; i++) if (all[i]!.severity === 'error') this.errors++;
    this.counted = all.length;
    return this.errors;
  }

  /** The tags a command accepts, given what is required so far: made once per command definition until the next `require`. */
  tagsFor(def: CommandDef): Map<string, TagChoice> {
    let m = this.tagChoices.get(def);
    if (m === undefined) this.tagChoices.set(def, (m = makeTagChoices(this, def)));
    return m;
  }

  /** Turns an argument into a value: strings decoded and made templates. */
  value(a: Argument): Value {
    if (a.kind === 'number') return { kind: 'number', value: a.value, node: a };
    if (a.kind === 'stringlist') {
      const templates = a.items.map((s) => this.template(s.value, s));
      // A list without variable references is the same every run: expand it once.
      const constant = templates.every((t) => typeof t === 'string') ? (templates as string[]) : undefined;
      return { kind: 'stringlist', templates, node: a, constant };
    }
    if (a.kind === 'variable') {
      const variable = this.options.language?.variable;
      if (variable) return variable(this, a);
      this.error(a.pos, 'variables written $name are not part of standard Sieve');
      return { kind: 'string', template: '', node: { kind: 'string', value: a.raw, multiline: false, pos: a.pos, end: a.end } };
    }
    if (a.kind === 'tag') return { kind: 'string', template: a.raw, node: { kind: 'string', value: a.raw, multiline: false, pos: a.pos, end: a.end } };
    return { kind: 'string', template: this.template(a.value, a), node: a };
  }

  /** A string's template; `at`, its node, is asked for its `pos` only for a message, since a node makes its position when first asked. */
  template(s: string, at: { readonly pos: Position }): Template {
    let v = s;
    if (this.decodeEncoded) {
      const errs: EncodedCharError[] = [];
      v = decodeEncodedCharacters(v, errs);
      for (const e of errs) this.error(at.pos, e.message);
    }
    if (!this.variables) return v;
    const t = parseTemplate(v);
    if (typeof t !== 'string') {
      for (const p of t) {
        if (typeof p === 'string') continue;
        // RFC 5229 3: references to unknown namespaces are errors; Pigeonhole keeps 32 match values.
        if ('ns' in p && p.ns !== undefined && !this.namespaces.has(p.ns.split('.')[0]!)) this.error(at.pos, `variable namespace '${p.ns}' is unknown`);
        if ('match' in p && p.match > MAX_MATCH_INDEX) this.error(at.pos, `match value index \${${p.match}} exceeds the maximum of ${MAX_MATCH_INDEX}`);
      }
    }
    const layer = this.options.language;
    const out = this.layerStrings && layer?.template ? layer.template(t) : t;
    this.facts.template(out);
    return out;
  }
}

/** An invocation opened by the validator, its block still to validate (Validator.opened). */
export interface Opened {
  b: Bound;
  ok: boolean;
  /** Its definition as looked up (before a tag that gives it another meaning). */
  def: CommandDef;
  as: 'command' | 'test';
  /** The statements of its block, when they are to be validated. */
  block?: Statement[];
  /** The errors before its block. */
  errorsBefore?: number;
}


/** Helper for command validate hooks: the constant text of a string value, or null. */
export function constantString(v: Value | undefined): string | null {
  return v && v.kind === 'string' && typeof v.template === 'string' ? v.template : null;
}

/** One definition per (command, tag) pair, so that a bound node carries no per-use copy. */
const insteadDefs = new WeakMap<TagSpec, CommandDef>();
function insteadDef(def: CommandDef, spec: TagSpec): CommandDef {
  let d = insteadDefs.get(spec);
  if (!d) {
    const { validate, execute } = spec.instead!;
    d = { ...def, validate, execute, evaluate: undefined };
    insteadDefs.set(spec, d);
  }
  return d;
}
