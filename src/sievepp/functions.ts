/**
 * The one typed registry of Momentum Sieve++ extension functions.
 *
 * A function is declared once, as data: its name, its argument signature,
 * how it may be used (a statement, a test in `if`, a value on the right of
 * an assignment), the SMTP phases where it is allowed, and its
 * implementation, which may return a Promise (DNS, CBV): the interpreter
 * awaits it without blocking other runs (it stays synchronous until a
 * function actually returns a Promise, see interpreter.ts).
 *
 * The registry turns its functions into one Sieve extension (capability
 * SIEVEPP_CAPABILITY), so validation, tags, match types and positions are
 * the same machinery standard commands use. In the 'momentum' dialect that
 * extension is loaded without `require` (docs/momentum-compatibility.md);
 * in 'rfc' it is not, and a use is a
 * clear compile error.
 *
 * Functions outside the Sieve core register through here too: src/cbv
 * exports `smtp_callback_verify` as a SieveFunction and src/policy builds
 * the product's registry with it; the core imports neither.
 */
import { andThen } from '../sieve/interpreter.js';
import type { Bound, CommandDef, Extension, MaybePromise, PositionalSpec, TagFamily, TagSpec } from '../sieve/registry.js';
import type { Runtime } from '../sieve/runtime/runtime.js';
import { SieveLimitExceeded, SieveRuntimeFailure } from '../sieve/runtime/signals.js';
import type { Validator } from '../sieve/validate.js';
import { contextValue, sessionOf } from './host.js';
import { bodyBinaryTags } from './body-binary.js';
import { languageOf } from './layer.js';
import { expandSpfMacro, type SpfFacts } from './spf-macros.js';
import { prepareRfc2822, readRfc2822 } from './rfc2822-macros.js';
import { readRef, refOf, type SieveValue, toStr, truthy } from './values.js';
export { head, tail } from '../sieve/runtime/strings.js';

export const SIEVEPP_CAPABILITY = 'vnd.momentum.sievepp';


/** A parameter: 'number' takes a number or a string of digits; 'any' a string, list, number or `$x`. */
export interface ParamSpec {
  name: string;
  type: 'string' | 'list' | 'number' | 'any';
  /** Trailing parameters may be optional (`smtp_callback_verify <address> [<sender>]`). */
  optional?: boolean;
}

export interface SieveFunction {
  name: string;
  /** Usable as a statement, as a test, as an assignment's value. */
  uses: { command?: boolean; test?: boolean; value?: boolean };
  params: ParamSpec[];
  tags?: TagSpec[];
  families?: TagFamily[];
  /** SMTP phases where the function may run; absent = every phase. */
  phases?: readonly string[];
  /** Reads the message: a compile error in phases that have none. */
  needsMessage?: boolean;
  /** Extra compile-time checks; report with v.error. */
  validate?(b: Bound, v: Validator): void;
  /**
   * The implementation. Its result is the value of an assignment; as a test,
   * a boolean is used as is and any other value by is_true's rule; as a
   * statement, it is dropped.
   */
  call(b: Bound, rt: Runtime): MaybePromise<SieveValue | boolean | void>;
}

/** A registered function's command definition keeps the function it came from. */
export interface FunctionDef extends CommandDef {
  fn: SieveFunction;
}

const ARG_TYPE = { string: 'string', list: 'stringlist', number: 'any', any: 'any' } as const;

export class FunctionRegistry {
  private readonly byName = new Map<string, SieveFunction>();
  private readonly defs = new Map<string, FunctionDef>();
  private ext: Extension | undefined;

  constructor(functions: readonly SieveFunction[] = []) {
    for (const f of functions) this.add(f);
  }

  /** Registers a function; a name registered twice is a programming error. */
  add(f: SieveFunction): this {
    if (this.ext) throw new Error(`function '${f.name}' registered after the registry was used`);
    if (this.byName.has(f.name)) throw new Error(`Sieve++ function '${f.name}' registered twice`);
    // The validator binds arguments from the left when optional ones are trailing.
    if (f.params.some((p, i) => p.optional && f.params.slice(i + 1).some((q) => !q.optional))) {
      throw new Error(`Sieve++ function '${f.name}': optional parameters must come last`);
    }
    this.byName.set(f.name, f);
    return this;
  }

  /** A new registry with these functions added (the product adds CBV to the built-ins). */
  with(...more: SieveFunction[]): FunctionRegistry {
    return new FunctionRegistry([...this.byName.values(), ...more]);
  }

  get(name: string): SieveFunction | undefined {
    return this.byName.get(name);
  }

  list(): SieveFunction[] {
    return [...this.byName.values()];
  }

  /** The command definition the validator binds a use of `name` to. */
  def(name: string): FunctionDef | undefined {
    const fn = this.byName.get(name);
    if (!fn) return undefined;
    let d = this.defs.get(name);
    if (!d) this.defs.set(name, (d = toCommandDef(fn)));
    return d;
  }

  /** The Sieve extension holding every function usable as a statement or test. */
  extension(): Extension {
    return (this.ext ??= {
      capability: SIEVEPP_CAPABILITY,
      hidden: true,
      attachTags: bodyBinaryTags,
      // The %{vctx_conn:key} / %{vctx_mess:key} macros (script.ts) read these namespaces.
      namespaces: [
        { name: 'vctx_conn', read: (rt, key) => contextValue(sessionOf(rt).connection, key) ?? '' },
        { name: 'vctx_mess', read: (rt, key) => contextValue(sessionOf(rt).message, key) ?? '' },
        { name: 'vctx', read: (rt, key) => contextValue(sessionOf(rt).message, key) ?? contextValue(sessionOf(rt).connection, key) ?? '' },
        { name: 'spfv1', read: (rt, spec) => expandSpfMacro(spec, spfFacts(rt)) ?? `%{spfv1:${spec}}` },
        { name: 'rfc822', read: (rt, what) => (what.trim().toLowerCase() === 'date' ? rfc822Date(rt.now()) : `%{rfc822:${what}}`) },
        { name: 'rfc2822', read: readRfc2822, prepare: prepareRfc2822 },
      ],
      commands: this.list()
        .filter((f) => f.uses.command || f.uses.test)
        .map((f) => this.def(f.name)!),
    });
  }
}

/**
 * What the SPF macros read: the envelope sender and the connection's facts
 * (RFC 7208 7.2), the same the SPF check at MAIL FROM is given (remote_ip,
 * ehlo_domain, the reverse-path); `r` is the receiver name that check used
 * (spf_receiver, docs/authentication.md) when it ran.
 */
function spfFacts(rt: Runtime): SpfFacts {
  const { connection: conn, message } = sessionOf(rt);
  const from = rt.envelopeAddress(rt.envelope.from);
  return {
    sender: from ? `${from.local}@${from.domain}` : '',
    ip: contextValue(conn, 'remote_ip') ?? '',
    helo: contextValue(conn, 'ehlo_domain') ?? '',
    ptr: contextValue(conn, 'remote_host'),
    receiver: message.get('spf_receiver') ?? contextValue(conn, 'local_host'),
    now: rt.now().getTime() / 1000,
  };
}

/** RFC 5322 3.3 date-time, as a Date header's value. */
function rfc822Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

/** Raises the runtime error for a function used outside its phases (when the phase is known). */
function checkPhase(fn: SieveFunction, b: Bound, rt: Runtime): void {
  const phase = sessionOf(rt).phase;
  if (fn.phases && phase !== undefined && !fn.phases.includes(phase)) {
    rt.fail(`${fn.name} is not allowed in the ${phase} phase (only in ${fn.phases.join(', ')})`, b.node.pos);
  }
}

/**
 * Characters of arguments read (argValue) by the function being called:
 * what it works over. A call is synchronous up to its first await, and so
 * is this count.
 */
let argChars = 0;

/** A call that read at least this much has its work charged with a read of the clock after it (CpuBudget's CLOCK_UNITS). */
const CHARGE_AFTER = 8192;

/**
 * Calls a function and charges its work to the run's CPU budget
 * (docs/sieve-interpreter.md, "CPU budget and time slices"): a function
 * works in proportion to the values it reads and the value it gives
 * (ec_pcre_match, qp_encode over a 10 MB match value), and a large call
 * reads the clock when it is done, so a run over its budget stops there
 * rather than steps later, or never when the script ends first.
 */
export function callFunction(fn: SieveFunction, b: Bound, rt: Runtime): MaybePromise<SieveValue | boolean | void> {
  const outer = argChars;
  argChars = 0;
  try {
    checkPhase(fn, b, rt);
    const r = fn.call(b, rt);
    const read = argChars;
    if (r instanceof Promise) {
      // What it read before its first await, charged when it is done: a throw now would leave its promise unheeded.
      const charged = read < CHARGE_AFTER ? r : r.then((v) => (chargeWork(rt, b, read, v), v));
      // Nothing runs in the script while it waits: the mode now is the mode its failure meets.
      return rt.state.get(ERROR_MODE) === 'continue' ? charged.catch((e: unknown) => goOn(e, b, rt)) : charged;
    }
    chargeWork(rt, b, read, r);
    return r;
  } catch (e) {
    return goOn(e, b, rt);
  } finally {
    argChars = outer;
  }
}

/** The run's ec_error_mode, in Runtime.state: "continue" or, by default, "fail". */
export const ERROR_MODE = 'sievepp.errorMode';

/**
 * A function's runtime error under `ec_error_mode "continue"`
 * (sieve-ref-ec-error-mode.md): a warning, and the call gives the empty
 * string (false as a test), so that the script goes on. Only errors of
 * the function itself: the run's limits (CPU time, steps) still end it.
 */
function goOn(e: unknown, b: Bound, rt: Runtime): string {
  if (!(e instanceof SieveRuntimeFailure) || e instanceof SieveLimitExceeded || rt.state.get(ERROR_MODE) !== 'continue') throw e;
  rt.warn(`${e.message} (ec_error_mode "continue": the script goes on)`, e.pos ?? b.node.pos);
  return '';
}

function chargeWork(rt: Runtime, b: Bound, read: number, result: SieveValue | boolean | void): void {
  const units = read + (result === undefined || typeof result === 'boolean' ? 0 : sizeOf(result));
  if (units >= CHARGE_AFTER) rt.budget.charge(units + CHARGE_AFTER, b.node.pos);
}

/** The characters of a value; a list or hash by its items' lengths, one level deep (what making it cost). */
export function sizeOf(v: SieveValue): number {
  if (typeof v === 'string') return v.length;
  let n = 0;
  for (const x of Array.isArray(v) ? v : v.values()) n += 16 + (typeof x === 'string' ? x.length : 0);
  return n;
}

function toCommandDef(fn: SieveFunction): FunctionDef {
  const positional: PositionalSpec[] = fn.params.map((p) => ({ name: p.name, type: ARG_TYPE[p.type], optional: p.optional }));
  const kind = fn.uses.test && fn.uses.command ? 'hybrid' : fn.uses.test ? 'test' : fn.uses.command ? 'command' : 'hybrid';
  return {
    fn,
    name: fn.name,
    kind,
    positional,
    tags: fn.tags,
    families: fn.families,
    needsMessage: fn.needsMessage,
    validate(b, v) {
      const phase = languageOf(v)?.phase;
      if (fn.phases && phase !== undefined && !fn.phases.includes(phase)) {
        v.error(b.node.pos, `${fn.name} is not allowed in the ${phase} phase (only in ${fn.phases.join(', ')})`);
        return;
      }
      fn.params.forEach((p, i) => {
        const a = b.args[i];
        if (p.type === 'number' && a && a.kind === 'string' && typeof a.template === 'string' && !refOf(a) && !/^[0-9]+$/.test(a.template)) {
          v.error(a.node.pos, `the ${fn.name} function expects a number as argument ${i + 1} (${p.name}), but '${a.template}' was found`);
        }
      });
      fn.validate?.(b, v);
    },
    execute: (b, rt) => andThen(callFunction(fn, b, rt), () => undefined),
    evaluate: (b, rt) => andThen(callFunction(fn, b, rt), (r) => (typeof r === 'boolean' ? r : r === undefined ? true : truthy(r))),
  };
}

// ---------------------------------------------------------------- helpers for implementations

/** Argument i as a Sieve++ value: `$x` keeps its list or hash, a string list is a list. */
export function argValue(b: Bound, rt: Runtime, i: number): SieveValue | undefined {
  const v = b.args[i];
  if (!v) return undefined;
  let value: SieveValue;
  if (v.kind === 'string') {
    const ref = refOf(v);
    value = ref ? readRef(rt, ref) : rt.str(v.template);
  } else if (v.kind === 'stringlist') value = rt.list(v);
  else return String(v.value);
  argChars += sizeOf(value);
  return value;
}

/**
 * At most how many characters of a value a variable keeps (the size
 * limit, RFC 5229 3, is in octets, and a character is one or more; a list
 * keeps each item to limits.maxVariableSize, values.ts): a function whose
 * value is only ever assigned need not make more of it.
 */
export function keptChars(rt: Runtime): number {
  const max = Math.max(rt.maxVariableOctets, rt.limits.maxVariableSize);
  return Number.isFinite(max) ? max : Infinity;
}

/**
 * `f` over every item, in slices as the match loop goes (match-types.ts):
 * each item is charged `cost(item)` units, and when the slice is over the
 * run lets the event loop go before the next one (a list of 200,000
 * header fields, of 100,000 MIME parts, every row of a large CSV file).
 */
export function eachInSlices<T>(rt: Runtime, items: readonly T[], f: (x: T) => void, cost: (x: T) => number, from = 0): MaybePromise<void> {
  const budget = rt.budget;
  for (let i = from; i < items.length; i++) {
    budget.charge(cost(items[i]!));
    f(items[i]!);
    if (budget.yieldDue) {
      const next = i + 1;
      return budget.pause().then(() => eachInSlices(rt, items, f, cost, next));
    }
  }
}

/** `f`'s values for every item, made in slices (eachInSlices). */
export function mapInSlices<T, R>(rt: Runtime, items: readonly T[], f: (x: T) => R, cost: (x: T) => number): MaybePromise<R[]> {
  const out: R[] = [];
  return andThen(eachInSlices(rt, items, (x) => void out.push(f(x)), cost), () => out);
}

export function argString(b: Bound, rt: Runtime, i: number): string | undefined {
  const v = argValue(b, rt, i);
  return v === undefined ? undefined : toStr(v);
}

/** A 'number' parameter: a number, or a string of digits; anything else is a runtime error. */
export function argNumber(b: Bound, rt: Runtime, i: number, fn: string): number {
  const v = b.args[i]!;
  if (v.kind === 'number') return v.value;
  const s = argString(b, rt, i)!.trim();
  if (!/^[0-9]+$/.test(s)) rt.fail(`${fn}: argument ${i + 1} must be a number, not '${s}'`, v.node.pos);
  return Number(s);
}
