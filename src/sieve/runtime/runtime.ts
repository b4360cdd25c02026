/**
 * The state of one run: the message and envelope being judged, variables
 * and match values (RFC 5229), the result being built, the step budget, and
 * the host the script reaches the world through (host.ts).
 */
import type { Position } from '../../diagnostics.js';
import type { Bound, Value } from '../registry.js';
import { type Address, parseEnvelopePath } from './address.js';
import type { SieveMessage } from './message.js';
import type { Action, ActionDef, ActionFields } from '../action.js';
import { SieveResult } from './result.js';
import { asciiCasemap } from '../match/comparators.js';
import type { MatchContext } from '../match/match-types.js';
import { expand, type Scope, type Template } from './strings.js';
import { CpuBudget, STEP_UNITS } from './cpu-budget.js';
import type { Envelope, ExecutionContext, SieveHost } from './host.js';
import { parseDuration, type RuntimeLimits } from './limits.js';
import type { MemoTable } from './memo.js';
import { SieveLimitExceeded, SieveRuntimeFailure, StopSignal } from './signals.js';
import type { TraceHook } from './trace.js';

/**
 * Where variables live: each script run (the main one, each included one)
 * has its own (RFC 6609 3.4); names declared `global` there resolve to
 * the run's shared globals instead.
 */
export interface VariableScope {
  vars: Map<string, string>;
  globalNames: Set<string>;
}

/** A variable namespace an extension provides (RFC 5229 3). */
interface NamespaceDef {
  name: string;
  read(rt: Runtime, path: string): string;
  prepare?(rt: Runtime, paths: readonly string[]): Promise<void> | undefined;
}

/*
 * A run is made for every script evaluation (every SMTP phase of every
 * session): what most runs never touch (globals, extension state) is made
 * on first use.
 */
export class Runtime implements Scope {
  /** The scope of the script running now (made when first asked for: a run that sets and reads no variable makes none). */
  get scope(): VariableScope {
    return (this.currentScope ??= { vars: new Map(), globalNames: new Set() });
  }
  set scope(scope: VariableScope) {
    this.currentScope = scope;
  }
  private currentScope: VariableScope | undefined;
  /** Variables shared by `global` across included scripts (RFC 6609 3.4). */
  get globals(): Map<string, string> {
    return (this.lazyGlobals ??= new Map());
  }
  private lazyGlobals: Map<string, string> | undefined;
  matchValues: string[] = [];
  steps = 0;
  /** The run's CPU budget (see charge). */
  readonly budget: CpuBudget;
  readonly result: SieveResult;
  /** Messages the script logged (vnd.dovecot.debug's debug_log). */
  readonly log: string[] = [];
  /** Problems that do not stop the run (e.g. a regex built from a variable that does not compile). */
  readonly warnings: Array<{ message: string; pos?: Position }> = [];
  /** Per-extension run state (imap4flags' internal flags, editheader's changes...). */
  get state(): Map<string, unknown> {
    return (this.lazyState ??= new Map());
  }
  private lazyState: Map<string, unknown> | undefined;
  /** An extension's run state, without making the map for a run that has none (a host asks after every run). */
  stateOf(key: string): unknown {
    return this.lazyState?.get(key);
  }
  /**
   * Variable namespaces (RFC 5229 3), e.g. "env": the lists the scripts of
   * this run brought, searched in order when a reference names one (rare),
   * so that a run that never reads one builds nothing.
   */
  private namespaceLists: Array<ReadonlyArray<NamespaceDef>> | undefined;
  private current: SieveMessage | null;
  /** The message being judged; replacing it (editheader, the testsuite) drops cached reads of the old one. */
  get message(): SieveMessage | null {
    return this.current;
  }
  set message(m: SieveMessage | null) {
    this.current = m;
    this.forget();
  }
  /** The message as the run began, before any editheader change: what a failed run keeps. */
  readonly initialMessage: SieveMessage | null;
  /**
   * The message a redirect forwards when it is not the current one: enclose
   * changes what later actions deliver but not what a redirect forwards
   * (RFC 5703 6). Null: the current message.
   */
  redirectSource: SieveMessage | null = null;
  envelope: Envelope;
  /** What the run was started with: a language layer reads its own fields here (Sieve++: src/sievepp/host.ts). */
  readonly context: ExecutionContext;
  /** Set only when someone traces the run: every check of it is one property read when unset. */
  trace: TraceHook | undefined;
  /** One reusable match context per run: matching allocates nothing per test. */
  readonly matchContext: MatchContext & { at?: Position };
  /** Header reads of this run, by what was read: a policy tests the same fields many times. */
  private readonly memo: Array<Map<string, unknown> | undefined> = [];
  /** memoizeAt's cells, by slot. */
  private cells: unknown[] | undefined;

  constructor(
    ctx: ExecutionContext,
    readonly host: SieveHost,
    readonly limits: RuntimeLimits,
    /** True when the script required variables: only then are match values kept. */
    public variablesOn: boolean,
  ) {
    this.current = ctx.message;
    this.initialMessage = ctx.message;
    this.envelope = ctx.envelope;
    this.context = ctx;
    this.result = new SieveResult(limits);
    const cpu = host.setting?.('sieve_max_cpu_time');
    this.budget = new CpuBudget((cpu !== undefined ? parseDuration(cpu) : undefined) ?? limits.maxCpuMs);
    const mc: MatchContext & { at?: Position } = { cmp: asciiCasemap, wantCaptures: false, warn: (m) => this.warn(m, mc.at), budget: this.budget };
    if (host.externalList) mc.externalList = (name) => host.externalList!(name);
    this.matchContext = mc;
  }

  /** Counts one evaluation against the step limit and the CPU budget. */
  step(pos: Position): void {
    if (++this.steps > this.limits.maxSteps) throw new SieveLimitExceeded(`execution exceeded the step limit of ${this.limits.maxSteps}`, pos);
    this.budget.at = pos;
    this.budget.charge(STEP_UNITS, pos);
  }

  /** Makes a script's variable namespaces readable (RFC 5229 3). */
  installNamespaces(defs: ReadonlyArray<NamespaceDef> | undefined): void {
    if (!defs || defs.length === 0) return;
    const lists = (this.namespaceLists ??= []);
    if (!lists.includes(defs)) lists.push(defs);
  }

  /** The time now: the host's clock when it has one (tests and the dry run set it), else the machine's. */
  now(): Date {
    return this.host.now?.() ?? new Date();
  }

  /** A host setting by Pigeonhole's name, or undefined. */
  setting(name: string): string | undefined {
    return this.host.setting?.(name);
  }

  warn(message: string, pos?: Position): void {
    this.warnings.push({ message, pos });
  }

  fail(message: string, pos?: Position): never {
    throw new SieveRuntimeFailure(message, pos);
  }

  requireMessage(pos: Position): SieveMessage {
    if (!this.message) this.fail('this test needs a message, and there is none at this point of the SMTP session', pos);
    return this.message;
  }

  variable(name: string, ns: string | undefined): string {
    if (ns !== undefined) {
      // "${env.vnd.dovecot.x}": the namespace is the first part, the rest its path.
      const dot = ns.indexOf('.');
      const head = dot < 0 ? ns : ns.slice(0, dot);
      const path = dot < 0 ? name : `${ns.slice(dot + 1)}.${name}`;
      return this.namespaceNamed(head)?.read(this, path) ?? '';
    }
    const scope = this.currentScope;
    // No scope yet: nothing was set in this run, and no name was declared global.
    if (scope === undefined) return '';
    return (scope.globalNames.has(name) ? this.globals : scope.vars).get(name) ?? '';
  }

  /**
   * Lets each namespace that prepares (NamespaceDef.prepare) bring in what
   * the script's references to it will read, given as "namespace:path"
   * (ScriptFacts.references); undefined when none has anything to wait for.
   */
  prepareNamespaces(references: ReadonlySet<string>): Promise<void> | undefined {
    if (references.size === 0 || !this.namespaceLists) return undefined;
    let waits: Array<Promise<void>> | undefined;
    for (const list of this.namespaceLists) {
      for (const d of list) {
        if (!d.prepare) continue;
        // Every run of a script with references comes here: nothing is made unless the namespace is referenced.
        const n = d.name.length;
        let paths: string[] | undefined;
        for (const r of references) if (r.charCodeAt(n) === 58 /* : */ && r.startsWith(d.name)) (paths ??= []).push(r.slice(n + 1));
        const wait = paths ? d.prepare(this, paths) : undefined;
        if (wait) (waits ??= []).push(wait);
      }
    }
    return waits ? Promise.all(waits).then(() => undefined) : undefined;
  }

  /** The first namespace of that name the run's scripts brought. */
  private namespaceNamed(name: string): NamespaceDef | undefined {
    for (const list of this.namespaceLists ?? []) for (const d of list) if (d.name === name) return d;
    return undefined;
  }

  matchValue(n: number): string {
    return this.matchValues[n] ?? '';
  }

  /** Pigeonhole's limit is in octets (sieve_variables_max_variable_size); cut at a character boundary. */
  fitVariable(value: string): string {
    const max = this.maxVariableOctets;
    return value.length * 3 <= max ? value : truncateBytes(value, max);
  }

  /** The longest value a variable keeps, in UTF-8 octets (RFC 5229 3). */
  get maxVariableOctets(): number {
    // Newer Pigeonhole names the same limit sieve_variables_max_value_size.
    const set = this.host.setting?.('sieve_variables_max_variable_size') ?? this.host.setting?.('sieve_variables_max_value_size');
    return Number(set ?? this.limits.maxVariableSize);
  }

  setVariable(name: string, value: string): void {
    // Building a long value cost time in proportion to its length.
    this.budget.charge(value.length);
    const v = this.fitVariable(value);
    if (name.startsWith('global.')) {
      this.globals.set(name.slice(7), v);
      return;
    }
    (this.scope.globalNames.has(name) ? this.globals : this.scope.vars).set(name, v);
  }

  str(t: Template): string {
    return typeof t === 'string' ? t : expand(t, this);
  }

  /**
   * Remembers what `compute(key, arg)` gives for `key` in table `table` for
   * the rest of the run. Keys are the header strings themselves (no
   * concatenation), so look-ups hash each string once; `compute` is a
   * module-level function, so a look-up allocates nothing.
   */
  memoize<T, A>(table: MemoTable, key: string, compute: (key: string, arg: A) => T, arg: A): T {
    let m = this.memo[table] as Map<string, T> | undefined;
    if (!m) this.memo[table] = m = new Map();
    let v = m.get(key);
    if (v === undefined) {
      v = compute(key, arg);
      m.set(key, v);
    }
    return v;
  }

  /**
   * `memoize` for a key known when the script was compiled (a constant
   * field name), through its cell from memoSlot: an array read, no hashing.
   */
  memoizeAt<T, A>(slot: number, table: MemoTable, key: string, compute: (key: string, arg: A) => T, arg: A): T {
    if (slot < 0) return this.memoize(table, key, compute, arg);
    const cells = (this.cells ??= []);
    let v = cells[slot] as T | undefined;
    if (v === undefined) cells[slot] = v = compute(key, arg);
    return v;
  }

  /** What `memoize` remembers for `key` in `table`, undefined when it has nothing yet. */
  memoized<T>(table: MemoTable, key: string): T | undefined {
    return this.memo[table]?.get(key) as T | undefined;
  }

  /** What `memoizeAt` remembers in its cell, undefined when it has nothing yet. */
  memoizedAt<T>(slot: number, table: MemoTable, key: string): T | undefined {
    return slot < 0 ? this.memoized(table, key) : (this.cells?.[slot] as T | undefined);
  }

  /** The message or its header changed (test_set, editheader): cached reads are stale. */
  forget(): void {
    this.memo.length = 0;
    this.cells = undefined;
  }

  /** A string or string-list value expanded to its strings. Constant lists are shared: do not mutate. */
  list(v: Value): string[] {
    if (v.kind === 'string' && v.source) return v.source.list(this);
    if (v.kind === 'stringlist') return v.constant ?? v.templates.map((t) => this.str(t));
    if (v.kind === 'string') return typeof v.template === 'string' ? (v.constant ??= [v.template]) : [this.str(v.template)];
    return [String(v.value)];
  }

  string(v: Value): string {
    if (v.kind === 'string' && v.source) return v.source.string(this);
    return v.kind === 'string' ? this.str(v.template) : v.kind === 'number' ? String(v.value) : this.list(v).join(' ');
  }

  /**
   * Takes the action a command means: builds it from its definition, lets
   * the command's tags add their effect (`:copy`, copy.ts), and adds it.
   */
  take(b: Bound, def: ActionDef, fields: ActionFields = {}): Action {
    const action: Action = { def, type: def.type, pos: b.node.pos, ...fields };
    for (const t of b.tags.values()) t.spec?.effect?.(action, t.args, this, b);
    this.addAction(action);
    return action;
  }

  /** Adds an action, turning a refused one into the runtime error Pigeonhole reports. */
  addAction(action: Action): void {
    action.message ??= this.message ?? undefined;
    const err = this.result.add(action);
    if (err) this.fail(err, action.pos);
    if (action.def.final) throw StopSignal.instance;
  }

  envelopeAddress(path: string): Address | null | undefined {
    return parseEnvelopePath(path);
  }

  tag(b: Bound, name: string): boolean {
    return b.tags.has(name);
  }
}

/** The longest prefix of at most `max` UTF-8 octets that does not split a character. */
function truncateBytes(s: string, max: number): string {
  // ASCII (one octet a character): a plain cut. Encoding the value to find
  // the cut made a loop that grows a variable allocate its size every time,
  // and the garbage collector's pauses hold every other session.
  if (Buffer.byteLength(s, 'utf8') === s.length) return s.length <= max ? s : s.slice(0, max);
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length <= max) return s;
  let end = max;
  // Back up over continuation bytes (10xxxxxx) to the start of a character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
