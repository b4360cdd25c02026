/**
 * Momentum Sieve++ assignments and variable references, at compile time and
 * at run time:
 *
 *   $x = "literal";   $x = $y["k"];   $x = <function-or-test-or-command> args;
 *   ($a, $b) = <call> args;            $h["k"] = "v";
 *
 * An assignment validates into a Bound the interpreter runs like any
 * command (its def is ASSIGN below), so the synchronous/asynchronous walk,
 * the step budget and error positions are the ones every command has.
 *
 * What the right-hand side gives:
 *   - a literal, string list, number or `$y[...]`: that value;
 *   - a Sieve++ function usable as a value: what it returns;
 *   - any other test (standard or Sieve++): "true" or "false";
 *   - any other command: it runs, and the value is "".
 * List unpacking gives the i-th item to the i-th target, "" when the list is
 * shorter; a string unpacks as a one-item list.
 */
import type { Argument, Assignment, Invocation, Script, Statement, VariableArg } from '../ast.js';
import { andThen, evalTest } from '../interpreter.js';
import type { Bound, CommandDef, MaybePromise, Value } from '../registry.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Part, Template } from '../runtime/strings.js';
import type { Validator } from '../validate.js';
import type { ExtensionRegistry } from '../extension-registry.js';
import { callFunction, type FunctionRegistry, SIEVEPP_CAPABILITY, type SieveFunction } from './functions.js';
import { type IndexKey, readRef, type SieveValue, type VarRef, writeRef } from './values.js';

/** Where compile.ts leaves the function registry for the validator (Validator.state). */
export const FUNCTIONS_STATE = 'sievepp.functions';

type Rhs = { kind: 'value'; value: Value } | { kind: 'call'; b: Bound; fn?: SieveFunction };

interface AssignData {
  targets: VarRef[];
  unpack: boolean;
  rhs: Rhs;
}

export function compileRef(v: Validator, a: VariableArg): VarRef {
  const path: IndexKey[] = a.index.map((k) =>
    k.kind === 'number' ? { kind: 'number', value: k.value } : k.kind === 'variable' ? { kind: 'ref', ref: compileRef(v, k) } : { kind: 'template', template: v.template(k.value, k.pos) },
  );
  return { name: a.name, path, pos: a.pos };
}

/** A `$x[...]` argument: read as a value by Runtime.string/list and by functions. */
export function variableValue(v: Validator, a: VariableArg): Value {
  return { kind: 'string', template: [{ name: a.name }], node: { kind: 'string', value: a.raw, multiline: false, pos: a.pos, end: a.end }, ref: compileRef(v, a) };
}

const MACRO = /%\{(vctx_mess|vctx_conn):([^}]+)\}/gi;

/** Momentum's `%{vctx_mess:key}` / `%{vctx_conn:key}` macros, as namespace references the runtime resolves. */
export function withMacros(t: Template): Template {
  const parts = typeof t === 'string' ? [t] : t;
  if (!parts.some((p) => typeof p === 'string' && p.includes('%{'))) return t;
  const out: Part[] = [];
  for (const p of parts) {
    if (typeof p !== 'string') {
      out.push(p);
      continue;
    }
    let last = 0;
    for (const m of p.matchAll(MACRO)) {
      if (m.index > last) out.push(p.slice(last, m.index));
      out.push({ ns: m[1]!.toLowerCase(), name: m[2]!.trim() });
      last = m.index + m[0].length;
    }
    if (last < p.length) out.push(p.slice(last));
  }
  return out;
}

const ASSIGN: CommandDef = {
  name: '=',
  kind: 'command',
  execute(b, rt) {
    const d = b.data as AssignData;
    return andThen(rhsValue(d.rhs, rt), (value) => assign(rt, d, value));
  },
};

function rhsValue(r: Rhs, rt: Runtime): MaybePromise<SieveValue> {
  if (r.kind === 'value') return valueOf(r.value, rt);
  rt.step(r.b.node.pos);
  if (r.fn) return andThen(callFunction(r.fn, r.b, rt), asValue);
  if (r.b.def.evaluate && r.b.def.kind !== 'command') return andThen(evalTest(r.b, rt), asValue);
  return andThen(r.b.def.execute!(r.b, rt), () => '');
}

const asValue = (r: SieveValue | boolean | void): SieveValue => (typeof r === 'boolean' ? (r ? 'true' : 'false') : (r ?? ''));

function valueOf(v: Value, rt: Runtime): SieveValue {
  if (v.kind === 'stringlist') return rt.list(v);
  if (v.kind === 'number') return String(v.value);
  return v.ref ? readRef(rt, v.ref) : rt.str(v.template);
}

function assign(rt: Runtime, d: AssignData, value: SieveValue): void {
  if (!d.unpack) return writeRef(rt, d.targets[0]!, value);
  const items = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : [value];
  d.targets.forEach((t, i) => writeRef(rt, t, items[i] ?? ''));
}

/** Validates an assignment into the Bound the interpreter runs; null when it has errors. */
export function validateAssignment(v: Validator, a: Assignment, depth: number): Bound | null {
  const before = v.errorCount();
  const targets = a.targets.map((t) => compileRef(v, t));
  const rhs = a.value.kind === 'call' ? callRhs(v, a.value, depth) : { kind: 'value' as const, value: v.value(a.value as Argument) };
  if (!rhs || v.errorCount() !== before) return null;
  const node: Invocation = { name: '=', raw: '=', arguments: [], tests: [], testList: false, pos: a.pos, end: a.end };
  return { node, def: ASSIGN, args: [], tags: new Map(), tests: [], block: null, data: { targets, unpack: a.unpack, rhs } satisfies AssignData };
}

function callRhs(v: Validator, call: Invocation, depth: number): Rhs | null {
  const functions = v.state.get(FUNCTIONS_STATE) as FunctionRegistry | undefined;
  const fn = functions?.get(call.name);
  if (fn && fn.uses.value) {
    const def = functions!.def(call.name)!;
    const b = v.invocation(call, def.kind === 'command' ? 'command' : 'test', depth, def);
    return b && { kind: 'call', b, fn };
  }
  if (fn) {
    v.error(call.pos, `'${call.raw}' gives no value: it cannot stand on the right of an assignment`);
    return null;
  }
  const owned = v.registry.commands.get(call.name);
  const as = owned?.def.kind === 'command' ? 'command' : 'test';
  const b = v.invocation(call, as, depth);
  return b && { kind: 'call', b };
}

/**
 * The error for a name the validator does not know as a command or test:
 * in 'rfc', a Sieve++ name says so; a Sieve++ function that only gives a
 * value says where it belongs; anything else is Pigeonhole's wording.
 */
export function unknownMessage(v: Validator, node: Invocation, as: 'command' | 'test'): string {
  const owner = v.registry.commands.get(node.name)?.ext.capability;
  const sievepp = owner === SIEVEPP_CAPABILITY;
  // A standard name (envelope) is the standard extension's, whatever Sieve++ adds.
  const fn = owner === undefined ? (v.state.get(FUNCTIONS_STATE) as FunctionRegistry | undefined)?.get(node.name) : undefined;
  if (v.options.dialect === 'rfc' && (sievepp || fn)) return `'${node.raw}' is a Momentum Sieve++ ${as}, which the 'rfc' dialect does not allow`;
  if (fn && !sievepp) return `'${node.raw}' gives a value and cannot be used as a ${as}: assign it, as in $x = ${node.raw} ...;`;
  return `unknown ${as} '${node.raw}' (only reported once at first occurrence)`;
}

/**
 * Is this a Sieve++ script? Yes when it has an assignment or a `$x`
 * argument anywhere, or uses a Sieve++ function. Only then do "${x}" and
 * %{vctx_*:key} interpolate without `require "variables"`: a standard
 * script keeps its standard meaning (sieve-dialect.md).
 */
export function usesSievepp(script: Script, registry: ExtensionRegistry): boolean {
  const isFn = (name: string) => registry.commands.get(name)?.ext.capability === SIEVEPP_CAPABILITY;
  const inv = (n: Invocation): boolean => isFn(n.name) || n.arguments.some((x) => x.kind === 'variable') || n.tests.some(inv);
  const stmt = (s: Statement): boolean => s.kind === 'assignment' || inv(s) || (s.block ?? []).some(stmt);
  return script.commands.some(stmt);
}
