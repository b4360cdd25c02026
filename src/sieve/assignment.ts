/**
 * Sieve++ assignment (sieve-dialect.md, Momentum additions):
 * `$x = f args;`, `($a, $b) = f args;`, `$x = "text";`. The right side is a
 * function call (its value may be a Promise) or an argument; unpacking
 * spreads a list over the targets, "" for targets past its end.
 */
import type { Assignment } from './ast.js';
import { andThen } from './interpreter.js';
import type { Bound, CommandDef, SieveValue, Value } from './registry.js';
import type { Runtime } from './runtime/runtime.js';

export interface AssignmentData {
  targets: string[];
  unpack: boolean;
  call: Bound | null;
  value: Value | null;
}

function store(rt: Runtime, d: AssignmentData, v: SieveValue): void {
  if (!d.unpack) return rt.assign(d.targets[0]!, v);
  const list = Array.isArray(v) ? v : [v];
  d.targets.forEach((t, i) => rt.assign(t, list[i] ?? ''));
}

function valueOf(rt: Runtime, v: Value): SieveValue {
  if (v.kind === 'variable') return rt.indexed(v);
  if (v.kind === 'stringlist') return rt.list(v);
  return rt.string(v);
}

/** The bound form of an assignment runs through this definition, like any command. */
export const assignmentDef: CommandDef = {
  name: '=',
  kind: 'command',
  execute(b, rt) {
    const d = b.data as AssignmentData;
    if (d.call) return andThen(d.call.def.call!(d.call, rt), (v) => store(rt, d, v));
    store(rt, d, valueOf(rt, d.value!));
  },
};

/** A bound node for an assignment (its `node` stands in for the statement's position). */
export function boundAssignment(a: Assignment, data: AssignmentData): Bound {
  const node = { name: '=', raw: '=', arguments: [], tests: [], testList: false, pos: a.pos, end: a.end };
  return { node, def: assignmentDef, args: [], tags: new Map(), tests: [], block: null, data };
}
