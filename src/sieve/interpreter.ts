/**
 * The interpreter: walks the bound tree the validator produced.
 *
 * Commands and tests may return a Promise (host look-ups, extension
 * functions such as CBV); the walk stays synchronous until one does, and
 * only then continues asynchronously from that point. A policy with no
 * asynchronous test pays nothing for the possibility.
 *
 * `stop` and runtime errors unwind with exceptions inside the walk; they are
 * turned into values at `execute`'s boundary and never escape it.
 */
import type { Position } from '../diagnostics.js';
import type { CompiledScript } from './compile.js';
import { asciiCasemap } from './match/comparators.js';
import { isMatch } from './match/basic-match.js';
import { type MatchOutcome, type MatchType, type RelOp, runMatch } from './match/match-types.js';
import type { Bound, MaybePromise, Value } from './registry.js';
import type { Action, RuntimeError } from './runtime/result.js';
import { defaultRuntimeLimits, type RuntimeLimits } from './runtime/limits.js';
import type { ExecutionContext, SieveHost } from './runtime/host.js';
import { Runtime } from './runtime/runtime.js';
import type { TraceHook } from './runtime/trace.js';
import { ReturnSignal, SieveRuntimeFailure, StopSignal } from './runtime/signals.js';

export interface ExecuteOptions {
  limits?: Partial<RuntimeLimits>;
  /** Continue a run: reuse an earlier runtime's variables and result (testsuite, include). */
  runtime?: Runtime;
  /** Called for each command run and each test evaluated (with its result); costs nothing when absent. */
  trace?: TraceHook;
  /**
   * Time-sliced evaluation: after this many ms of computing, the run lets
   * the event loop go (timers, other sessions' sockets) before it goes on,
   * so it never holds the loop for much longer than a slice. 0 turns it
   * off. Off by default for `execute`, whose callers may rely on a
   * synchronous answer; on (DEFAULT_SLICE_MS) for `executeAsync` and
   * `executeSequence`.
   */
  timeSliceMs?: number;
}

/**
 * The time slice of an asynchronous run. A normal session's every command
 * can arrive while another session's slice runs and wait it out: some seven
 * round trips, each up to a slice plus a collection pause. Beside a heavy
 * foreverypart a session waited 81-94 ms at p99 with 5 ms slices and 42-59
 * ms with 2 ms (bench/latency.bench.ts, alternating runs on a quiet
 * machine). The collection work V8 does in the turns between slices is
 * charged to the run (wait-collections.ts), so more turns do not let a run
 * go further past its budget (1.03-1.04x with 2 ms slices, bench/budget.bench.ts).
 */
export const DEFAULT_SLICE_MS = 2;

export interface ExecutionResult {
  /** The actions in the order they were taken. */
  actions: Action[];
  /** True when the implicit keep is still in force (RFC 5228 2.10.2). */
  implicitKeep: boolean;
  /** Empty when the run succeeded. A failed run's actions must not be executed (RFC 5228 2.10.6). */
  errors: RuntimeError[];
  /** Problems that did not stop the run. */
  warnings: RuntimeError[];
  runtime: Runtime;
}

// Primitives (nearly every answer) are told apart by typeof, without a property look-up on their prototype.
const isPromise = <T>(v: MaybePromise<T>): v is Promise<T> => typeof v === 'object' && v !== null && typeof (v as Promise<T>).then === 'function';

/** The result of a run that ended normally. */
function finished(rt: Runtime): ExecutionResult {
  return { actions: rt.result.actions, implicitKeep: rt.result.implicitKeep, errors: [], warnings: rt.warnings, runtime: rt };
}

/** The result of a run that `e` ended: normally for `stop` and a top-level `return` (RFC 6609 3.3), failed for a runtime error; anything else is thrown on. */
function failed(rt: Runtime, e: unknown): ExecutionResult {
  if (e instanceof StopSignal || e instanceof ReturnSignal) return finished(rt);
  if (e instanceof SieveRuntimeFailure) return { ...finished(rt), errors: [{ message: e.message, pos: e.pos }] };
  throw e;
}

/** Runs a compiled script against a message and envelope. */
export function execute<C extends ExecutionContext>(script: CompiledScript, ctx: C, host: SieveHost = {}, options: ExecuteOptions = {}): MaybePromise<ExecutionResult> {
  const rt = options.runtime ?? new Runtime(ctx, host, options.limits ? { ...defaultRuntimeLimits, ...options.limits } : defaultRuntimeLimits, script.variables);
  rt.installNamespaces(script.namespaces);
  if (options.trace) rt.trace = options.trace;
  if (options.timeSliceMs !== undefined) rt.budget.sliceMs = options.timeSliceMs;
  try {
    // A time-sliced run parses a large header section in its slices before it starts (SieveMessage.prepare).
    const prepared = rt.budget.sliceMs > 0 ? ctx.message?.prepare?.(rt.budget) : undefined;
    // What the script's namespace references read and is not at hand is brought in first (NamespaceDef.prepare).
    const readied = rt.prepareNamespaces(script.facts.references);
    const before = prepared && readied ? Promise.all([prepared, readied]) : (prepared ?? readied);
    const r = before ? before.then(() => runBlock(script.commands, rt)) : runBlock(script.commands, rt);
    // The closures only for a run that goes on asynchronously: most finish here, and every phase makes a run.
    if (isPromise(r)) return r.then(() => finished(rt), (e: unknown) => failed(rt, e));
    return finished(rt);
  } catch (e) {
    return failed(rt, e);
  }
}

/** `execute` for a host that awaits the result anyway: time-sliced unless told otherwise. */
export async function executeAsync(script: CompiledScript, ctx: ExecutionContext, host: SieveHost = {}, options: ExecuteOptions = {}): Promise<ExecutionResult> {
  return execute(script, ctx, host, { ...options, timeSliceMs: options.timeSliceMs ?? DEFAULT_SLICE_MS });
}

/**
 * Runs scripts one after the other on one message, as the SMTP phases do
 * (a site script, then a vendor script) and as Pigeonhole's multiscript
 * does: they share the result, the message (with any header edits) and
 * extension state such as imap4flags' flags, but each has its own
 * variables. The next script runs only while the message is still kept
 * (implicitly or by `keep`); an error ends the sequence.
 */
export async function executeSequence(
  scripts: readonly CompiledScript[],
  ctx: ExecutionContext,
  host: SieveHost = {},
  options: ExecuteOptions = {},
): Promise<ExecutionResult & { ran: number }> {
  const rt = options.runtime ?? new Runtime(ctx, host, { ...defaultRuntimeLimits, ...options.limits }, false);
  let last: ExecutionResult | null = null;
  let ran = 0;
  rt.budget.sliceMs = options.timeSliceMs ?? DEFAULT_SLICE_MS;
  for (const script of scripts) {
    rt.scope = { vars: new Map(), globalNames: new Set() };
    rt.variablesOn = script.variables;
    last = await execute(script, ctx, host, { runtime: rt });
    ran++;
    if (last.errors.length) break;
    const kept = rt.result.implicitKeep || rt.result.actions.some((a) => a.type === 'keep');
    if (!kept) break;
  }
  last ??= { actions: rt.result.actions, implicitKeep: rt.result.implicitKeep, errors: [], warnings: rt.warnings, runtime: rt };
  return { ...last, ran };
}

/** Runs the commands of a block in order; continues asynchronously only if one returns a Promise. */
export function runBlock(list: readonly Bound[], rt: Runtime, from = 0): MaybePromise<void> {
  for (let i = from; i < list.length; i++) {
    const b = list[i]!;
    if (b.chained) continue;
    // A time-sliced run whose slice is over lets the event loop go here, between commands.
    if (rt.budget.yieldDue) return rt.budget.pause().then(() => runBlock(list, rt, i));
    const r = (b.compiled ?? compileCommand(b))(rt);
    if (isPromise(r)) return waiting(r as Promise<unknown>, rt).then(() => runBlock(list, rt, i + 1));
  }
}

/**
 * A command as every run calls it, made on its first run: counted against
 * the step limit and the CPU budget, traced when someone traces, then run
 * through its definition's `compile` when it has one (registry.ts).
 */
function compileCommand(b: Bound): (rt: Runtime) => MaybePromise<unknown> {
  const def = b.def;
  const pos = b.node.pos;
  const name = def.name;
  const body = def.compile?.(b) ?? (def.execute ? (rt: Runtime) => def.execute!(b, rt) : (rt: Runtime) => def.evaluate!(b, rt));
  return (b.compiled = (rt) => {
    rt.step(pos);
    if (rt.trace) rt.trace({ kind: 'command', name, pos });
    return body(rt);
  });
}

/** A test as every run evaluates it, made on its first evaluation (as compileCommand). */
function compileTest(b: Bound): (rt: Runtime) => MaybePromise<boolean> {
  const def = b.def;
  const pos = b.node.pos;
  const name = def.name;
  const body = (def.compile?.(b) ?? ((rt: Runtime) => def.evaluate!(b, rt))) as (rt: Runtime) => MaybePromise<boolean>;
  return (b.compiledTest = (rt) => {
    rt.step(pos);
    let r = body(rt);
    if (isPromise(r)) r = waiting(r, rt);
    const trace = rt.trace;
    if (!trace) return r;
    return andThen(r, (result) => {
      trace({ kind: 'test', name, pos, result });
      return result;
    });
  });
}

/**
 * A command or test answered with a Promise (a host look-up, a paused
 * slice): the time until it settles is not the script's CPU time.
 */
function waiting<T>(p: Promise<T>, rt: Runtime): Promise<T> {
  const budget = rt.budget;
  budget.suspend();
  return p.then(
    (v) => {
      budget.resume();
      return v;
    },
    (e: unknown) => {
      budget.resume();
      throw e;
    },
  );
}

export function evalTest(b: Bound, rt: Runtime): MaybePromise<boolean> {
  return (b.compiledTest ?? compileTest(b))(rt);
}

/** Applies `then` to a value that may be a Promise, staying synchronous when it is not. */
export function andThen<T, U>(v: MaybePromise<T>, f: (x: T) => MaybePromise<U>): MaybePromise<U> {
  return isPromise(v) ? v.then(f) : f(v);
}

/** The if/elsif/else chain (RFC 5228 3.1): the first test that holds runs its block. */
const NO_COMMANDS: readonly Bound[] = [];

export function runIf(b: Bound, rt: Runtime): MaybePromise<void> {
  return runChain(b, rt, 0);
}

function runChain(head: Bound, rt: Runtime, from: number): MaybePromise<void> {
  const chain = head.chain;
  const count = chain ? chain.length + 1 : 1;
  for (let k = from; k < count; k++) {
    const c = k === 0 ? head : chain![k - 1]!;
    // elsif/else are skipped by runBlock (chained): a trace sees them here, when reached.
    if (k > 0 && rt.trace) rt.trace({ kind: 'command', name: c.def.name, pos: c.node.pos });
    if (c.def.name === 'else') return runBlock(c.block ?? NO_COMMANDS, rt);
    const r = evalTest(c.tests[0]!, rt);
    if (isPromise(r)) return r.then((ok) => (ok ? runBlock(c.block ?? NO_COMMANDS, rt) : runChain(head, rt, k + 1)));
    if (r) return runBlock(c.block ?? NO_COMMANDS, rt);
  }
}

/** allof/anyof (RFC 5228 5.2, 5.3): short-circuit, left to right. */
export function evalAll(tests: readonly Bound[], rt: Runtime, want: boolean, from = 0): MaybePromise<boolean> {
  for (let i = from; i < tests.length; i++) {
    const r = evalTest(tests[i]!, rt);
    if (isPromise(r)) return r.then((v) => (v === want ? evalAll(tests, rt, want, i + 1) : !want));
    if (r !== want) return !want;
  }
  return want;
}

/**
 * The match step shared by every test with a match type: default :is and
 * i;ascii-casemap (RFC 5228 2.7.1, 2.7.3); on success, the match values of
 * :matches and :regex become ${0}..${9} (RFC 5229 3.2).
 */
export function matchTest(b: Bound, rt: Runtime, values: Iterable<string>, keys: string[], captures = true): MaybePromise<boolean> {
  const { mt, ctx, wantCaptures } = matchSetup(b, rt, captures);
  const out = runMatch(mt, values, keys, ctx);
  if (isPromise(out)) return out.then((o) => matched(o, rt, wantCaptures));
  return matched(out, rt, wantCaptures);
}

/** The match type of test `b` and the run's match context made ready for it, as `matchTest` matches (for a test that matches in pieces). */
export function matchSetup(b: Bound, rt: Runtime, captures = true): { mt: MatchType; ctx: Runtime['matchContext']; wantCaptures: boolean } {
  const mt = b.matchType?.def ?? isMatch;
  const wantCaptures = captures && rt.variablesOn && mt.captures === true;
  const ctx = rt.matchContext;
  ctx.cmp = b.comparator ?? b.def.defaultComparator ?? asciiCasemap;
  ctx.op = b.matchType?.arg ? (rt.string(b.matchType.arg).toLowerCase() as RelOp) : undefined;
  ctx.relational = b.matchType?.relational;
  ctx.wantCaptures = wantCaptures;
  ctx.at = b.node.pos;
  return { mt, ctx, wantCaptures };
}

/** A compiled match step: the values a test read, matched against its keys. */
export type CompiledMatch = (rt: Runtime, values: string[]) => MaybePromise<boolean>;

/**
 * `matchTest` made once for one test (a definition's `compile`), with the
 * key list `keyArg`: the match type, comparator and a constant relational
 * operator are resolved here, and constant keys are made ready by their
 * match type's compileKey (folded, parsed) instead of at every comparison.
 */
export function compileMatch(b: Bound, keyArg: Value): CompiledMatch {
  const mt = b.matchType?.def ?? isMatch;
  const cmp = b.comparator ?? b.def.defaultComparator ?? asciiCasemap;
  const opArg = b.matchType?.arg;
  const opConstant = opArg ? constantList(opArg) : undefined;
  const fixedOp = opConstant?.length === 1 ? (opConstant[0]!.toLowerCase() as RelOp) : undefined;
  const relational = b.matchType?.relational;
  const pos = b.node.pos;
  const captures = mt.captures === true;
  const keys = constantList(keyArg);
  const compiled = keys && mt.compileKey && !mt.matchAll ? keys.map((k) => mt.compileKey!(k, cmp)) : undefined;
  return (rt, values) => {
    const wantCaptures = captures && rt.variablesOn;
    const ctx = rt.matchContext;
    ctx.cmp = cmp;
    ctx.op = opArg ? (fixedOp ?? (rt.string(opArg).toLowerCase() as RelOp)) : undefined;
    ctx.relational = relational;
    ctx.wantCaptures = wantCaptures;
    ctx.at = pos;
    const out = runMatch(mt, values, keys ?? rt.list(keyArg), ctx, compiled);
    if (isPromise(out)) return out.then((o) => matched(o, rt, wantCaptures));
    return matched(out, rt, wantCaptures);
  };
}

/** What `Runtime.list` gives for a value at every run, when that is the same every run; else undefined. */
export function constantList(v: Value): string[] | undefined {
  if (v.kind === 'stringlist') return v.constant;
  if (v.kind === 'number') return [String(v.value)];
  return v.source === undefined && typeof v.template === 'string' ? (v.constant ??= [v.template]) : undefined;
}

/** A test's answer from its match: the match values of a success become ${0}..${9} (RFC 5229 3.2). */
export function matched(out: MatchOutcome, rt: Runtime, wantCaptures: boolean): boolean {
  if (out.matched && wantCaptures && out.captures) rt.matchValues = out.captures;
  return out.matched;
}

/** `matchTest` where the caller needs the answer now (inside a filter): never yields. */
export function matchTestNow(b: Bound, rt: Runtime, values: Iterable<string>, keys: string[], captures = true): boolean {
  const budget = rt.budget;
  const slice = budget.sliceMs;
  const due = budget.yieldDue;
  budget.sliceMs = 0;
  budget.yieldDue = false;
  try {
    return matchTest(b, rt, values, keys, captures) as boolean;
  } finally {
    budget.sliceMs = slice;
    budget.yieldDue = due;
  }
}

export function fail(message: string, pos: Position): never {
  throw new SieveRuntimeFailure(message, pos);
}
