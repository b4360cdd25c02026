/**
 * The state of one run: the message and envelope being judged, variables
 * and match values (RFC 5229), the result being built, the step budget, and
 * the host the script reaches the world through. The Sieve core does no I/O
 * itself: mailbox checks, duplicate tracking, DNS or CBV are host callbacks.
 */
import type { Position } from '../../diagnostics.js';
import type { Bound, MaybePromise, Value } from '../registry.js';
import { type Address, parseEnvelopePath } from './address.js';
import type { SieveMessage } from './message.js';
import type { Action, ActionDef, ActionFields } from '../action.js';
import { SieveResult } from './result.js';
import { asciiCasemap } from '../match/comparators.js';
import type { MatchContext } from '../match/match-types.js';
import { expand, type Scope, type Template } from './strings.js';

/** The SMTP envelope (RFC 5321): the reverse-path and forward-paths as given. */
export interface Envelope {
  /** The MAIL FROM path; "" or "<>" is the null sender. */
  from: string;
  to: string[];
  /** The original recipient before any aliasing, when the host knows it. */
  origTo?: string;
  /** The authenticated user (RFC 5228 5.4 allows "auth" as an envelope part). */
  auth?: string;
}

export interface ExecutionContext {
  /** Null where there is no message yet (an SMTP server's phases before DATA). */
  message: SieveMessage | null;
  envelope: Envelope;
}

/** What the script may ask of the world. Every member is optional. */
export interface SieveHost {
  /** Does this mailbox exist? (fileinto, mailboxexists). */
  mailboxExists?(name: string): MaybePromise<boolean>;
  /**
   * RFC 6609: the text of a personal or global script, or null when there
   * is none. Without it, include fails at run time.
   */
  loadScript?(name: string, location: 'personal' | 'global'): MaybePromise<string | null>;
  /** Configuration by name, as Pigeonhole names its settings (e.g. sieve_spamtest_status_header). */
  setting?(name: string): string | undefined;
  /** A line for the host's log (language layers log through here: Sieve++ ec_log). */
  log?(level: 'debug' | 'info' | 'warning' | 'error', text: string): void;
  /** RFC 5183 environment items. */
  environment?(name: string): string | undefined;
  /** RFC 7352: has this id been seen in the last `seconds`? Records it when not. */
  duplicate?(id: string, seconds: number): MaybePromise<boolean>;
  /** Current time, for date/currentdate and vacation; defaults to the clock. */
  now?(): Date;
}

/**
 * One step of a traced run (the dry-run runner's --trace and --coverage):
 * a command about to run, or a test with the result it gave.
 */
export type TraceEvent =
  | { kind: 'command'; name: string; pos: Position }
  | { kind: 'test'; name: string; pos: Position; result: boolean };

export type TraceHook = (event: TraceEvent) => void;

export interface RuntimeLimits {
  maxActions: number;
  maxRedirects: number;
  /** Commands and tests evaluated per run before the run is stopped. */
  maxSteps: number;
  /** RFC 5229 3: longest variable value, in UTF-8 octets (Pigeonhole's default 4096). */
  maxVariableSize: number;
  /** Wall-clock budget of a run in milliseconds (Pigeonhole's sieve_max_cpu_time). */
  maxCpuMs: number;
}

export const defaultRuntimeLimits: Readonly<RuntimeLimits> = Object.freeze({
  maxActions: 32,
  maxRedirects: 4,
  maxSteps: 1_000_000,
  maxVariableSize: 4096,
  maxCpuMs: 10_000,
});

/** "2s", "500ms", "1m", "30" (seconds): Pigeonhole's time settings, in milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*([0-9]+)\s*(ms|msecs?|s|secs?|m|mins?)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  return unit.startsWith('ms') ? n : unit.startsWith('m') ? n * 60_000 : n * 1000;
}

/** Raised inside the interpreter and turned into a value at execute's boundary. */
export class SieveRuntimeFailure extends Error {
  constructor(
    message: string,
    readonly pos?: Position,
  ) {
    super(message);
  }
}

/** `stop` (RFC 5228 3.3): ends the run, not an error. */
export class StopSignal {
  static readonly instance = new StopSignal();
}

/**
 * Where variables live: each script run (the main one, each included one)
 * has its own (RFC 6609 3.4); names declared `global` there resolve to
 * the run's shared globals instead.
 */
export interface VariableScope {
  vars: Map<string, string>;
  globalNames: Set<string>;
}

/** `return` (RFC 6609 3.3): ends the current script; at the top it ends the run like stop. */
export class ReturnSignal {
  static readonly instance = new ReturnSignal();
}

export class Runtime implements Scope {
  /** The scope of the script running now. */
  scope: VariableScope = { vars: new Map(), globalNames: new Set() };
  /** Variables shared by `global` across included scripts (RFC 6609 3.4). */
  readonly globals = new Map<string, string>();
  matchValues: string[] = [];
  steps = 0;
  /** When the run started (performance.now()), for the time budget. */
  private readonly started = performance.now();
  private readonly maxCpuMs: number;
  readonly result: SieveResult;
  /** Messages the script logged (vnd.dovecot.debug's debug_log). */
  readonly log: string[] = [];
  /** Problems that do not stop the run (e.g. a regex built from a variable that does not compile). */
  readonly warnings: Array<{ message: string; pos?: Position }> = [];
  /** Per-extension run state (imap4flags' internal flags, editheader's changes...). */
  readonly state = new Map<string, unknown>();
  /** Variable namespaces (RFC 5229 3): resolvers by namespace name, e.g. "env". */
  readonly namespaces = new Map<string, (name: string) => string>();
  private current: SieveMessage | null;
  /** The message being judged; replacing it (editheader, the testsuite) drops cached reads of the old one. */
  get message(): SieveMessage | null {
    return this.current;
  }
  set message(m: SieveMessage | null) {
    this.current = m;
    this.memo.clear();
  }
  /** The message as the run began, before any editheader change: what a failed run keeps. */
  readonly initialMessage: SieveMessage | null;
  envelope: Envelope;
  /** What the run was started with: a language layer reads its own fields here (Sieve++: src/sievepp/host.ts). */
  readonly context: ExecutionContext;
  /** Set only when someone traces the run: every check of it is one property read when unset. */
  trace: TraceHook | undefined;
  /** One reusable match context per run: matching allocates nothing per test. */
  readonly matchContext: MatchContext & { at?: Position };
  /** Header reads of this run, by what was read: a policy tests the same fields many times. */
  private readonly memo = new Map<string, unknown>();

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
    this.maxCpuMs = parseDuration(host.setting?.('sieve_max_cpu_time') ?? '') ?? limits.maxCpuMs;
    const mc: MatchContext & { at?: Position } = { cmp: asciiCasemap, wantCaptures: false, warn: (m) => this.warn(m, mc.at) };
    this.matchContext = mc;
  }

  /** Counts one evaluation against the budget (Pigeonhole's cpu limit, here in steps). */
  step(pos: Position): void {
    if (++this.steps > this.limits.maxSteps) throw new SieveRuntimeFailure(`execution exceeded the step limit of ${this.limits.maxSteps}`, pos);
    // The clock is read every 4 steps: cheap, and a step is short except for
    // large regex matches, which re2js keeps linear.
    if ((this.steps & 3) === 0 && performance.now() - this.started > this.maxCpuMs) {
      throw new SieveRuntimeFailure(`execution exceeded the CPU time limit of ${this.maxCpuMs} ms`, pos);
    }
  }

  /** Makes a script's variable namespaces readable (RFC 5229 3). */
  installNamespaces(defs: ReadonlyArray<{ name: string; read(rt: Runtime, path: string): string }> | undefined): void {
    for (const d of defs ?? []) if (!this.namespaces.has(d.name)) this.namespaces.set(d.name, (path) => d.read(this, path));
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
      return this.namespaces.get(head)?.(dot < 0 ? name : `${ns.slice(dot + 1)}.${name}`) ?? '';
    }
    return (this.scope.globalNames.has(name) ? this.globals : this.scope.vars).get(name) ?? '';
  }

  matchValue(n: number): string {
    return this.matchValues[n] ?? '';
  }

  /** Pigeonhole's limit is in octets (sieve_variables_max_variable_size); cut at a character boundary. */
  fitVariable(value: string): string {
    const max = Number(this.host.setting?.('sieve_variables_max_variable_size') ?? this.limits.maxVariableSize);
    return value.length * 3 <= max ? value : truncateBytes(value, max);
  }

  setVariable(name: string, value: string): void {
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

  /** A string or string-list value expanded to its strings. */
  /**
   * Remembers what `compute` gives for `key` in table `table` for the rest
   * of the run. Keys are the header strings themselves (no concatenation),
   * so look-ups hash each string once.
   */
  memoize<T>(table: string, key: string, compute: () => T): T {
    let m = this.memo.get(table) as Map<string, T> | undefined;
    if (!m) this.memo.set(table, (m = new Map()));
    let v = m.get(key);
    if (v === undefined) {
      v = compute();
      m.set(key, v);
    }
    return v;
  }

  /** The message or its header changed (test_set, editheader): cached reads are stale. */
  forget(): void {
    this.memo.clear();
  }

  /** A string or string-list value expanded to its strings. Constant lists are shared: do not mutate. */
  list(v: Value): string[] {
    if (v.kind === 'string' && v.source) return v.source.list(this);
    if (v.kind === 'stringlist') return v.constant ?? v.templates.map((t) => this.str(t));
    if (v.kind === 'string') return [this.str(v.template)];
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
    for (const t of b.tags.values()) t.spec?.effect?.(action);
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
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length <= max) return s;
  let end = max;
  // Back up over continuation bytes (10xxxxxx) to the start of a character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
