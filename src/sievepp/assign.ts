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
import type { Argument, Assignment, Invocation, VariableArg } from '../sieve/ast.js';
import { andThen, evalTest } from '../sieve/interpreter.js';
import type { Bound, CommandDef, MaybePromise, Value } from '../sieve/registry.js';
import type { Runtime } from '../sieve/runtime/runtime.js';
import { newBound, type Validator } from '../sieve/validate.js';
import { callFunction, type FunctionRegistry, type SieveFunction } from './functions.js';
import { languageOf } from './layer.js';
import { type IndexKey, readRef, RefSource, refOf, type SieveValue, type VarRef, writeRef } from './values.js';

type Rhs = { kind: 'value'; value: Value } | { kind: 'call'; b: Bound; fn?: SieveFunction };

interface AssignData {
  targets: VarRef[];
  unpack: boolean;
  rhs: Rhs;
}

export function compileRef(v: Validator, a: VariableArg): VarRef {
  const path: IndexKey[] = a.index.map((k) =>
    k.kind === 'number' ? { kind: 'number', value: k.value } : k.kind === 'variable' ? { kind: 'ref', ref: compileRef(v, k) } : { kind: 'template', template: v.template(k.value, k) },
  );
  return { name: a.name, path, pos: a.pos };
}

/** A `$x[...]` argument: read as a value by Runtime.string/list and by functions. */
export function variableValue(v: Validator, a: VariableArg): Value {
  return { kind: 'string', template: [{ name: a.name }], node: { kind: 'string', value: a.raw, multiline: false, pos: a.pos, end: a.end }, source: new RefSource(compileRef(v, a)) };
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
  const ref = refOf(v);
  return ref ? readRef(rt, ref) : rt.str(v.template);
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
  return newBound(node, ASSIGN, { targets, unpack: a.unpack, rhs } satisfies AssignData);
}

function callRhs(v: Validator, call: Invocation, depth: number): Rhs | null {
  const functions = languageOf(v)?.functions;
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
