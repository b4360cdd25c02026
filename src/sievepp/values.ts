/**
 * Momentum Sieve++ values: strings, lists and hashes, and the variables
 * that hold them.
 *
 * One namespace (docs/sieve-reference.md, "Variables"): `$x`, `"${x}"` and
 * RFC 5229 `set "x"` name the same variable, because a Momentum admin mixes
 * them freely. Every variable has a string form in the runtime's ordinary
 * variable map (so `${x}`, `set`, `string` and include's globals keep their
 * standard behaviour); a list or hash assigned by Sieve++ is kept beside it,
 * in a side table, together with the string it was stored as. If a later
 * `set` replaces the string, the side entry no longer matches and the
 * variable is a plain string again: the last write wins, whichever form.
 *
 * String form of a list: its items joined by one space (as a string list
 * argument reads in Runtime.string); of a hash: its values, likewise.
 */
import type { Position } from '../diagnostics.js';
import type { Value, ValueSource } from '../sieve/registry.js';
import type { Runtime } from '../sieve/runtime/runtime.js';
import type { Template } from '../sieve/runtime/strings.js';

export type SieveValue = string | SieveValue[] | SieveHash;
export type SieveHash = Map<string, SieveValue>;

/** `$name[...][...]` after validation: the index keys ready to evaluate. */
export interface VarRef {
  name: string;
  path: IndexKey[];
  pos: Position;
}

export type IndexKey = { kind: 'template'; template: Template } | { kind: 'number'; value: number } | { kind: 'ref'; ref: VarRef };

/** A `$x[...]` argument's run-time value (the core's ValueSource): read by reference, a list stays a list. */
export class RefSource implements ValueSource {
  constructor(readonly ref: VarRef) {}
  string(rt: Runtime): string {
    return toStr(readRef(rt, this.ref));
  }
  list(rt: Runtime): string[] {
    return toList(readRef(rt, this.ref));
  }
}

/** The variable reference a value stands for, when it is a `$x[...]` argument. */
export function refOf(v: Value | undefined): VarRef | undefined {
  return v?.kind === 'string' && v.source instanceof RefSource ? v.source.ref : undefined;
}

interface Entry {
  str: string;
  value: SieveValue;
}

const STATE = 'sievepp.values';

/** The side table for the variable map `name` lives in (the scope's, or the globals). */
function table(rt: Runtime, name: string): Map<string, Entry> {
  const target = rt.scope.globalNames.has(name) ? rt.globals : rt.scope.vars;
  let all = rt.state.get(STATE) as WeakMap<Map<string, string>, Map<string, Entry>> | undefined;
  if (!all) rt.state.set(STATE, (all = new WeakMap()));
  let t = all.get(target);
  if (!t) all.set(target, (t = new Map()));
  return t;
}

function stored(rt: Runtime, name: string): string | undefined {
  return (rt.scope.globalNames.has(name) ? rt.globals : rt.scope.vars).get(name);
}

/** True when the variable has been given a value in this scope. */
export function isDefined(rt: Runtime, name: string): boolean {
  return stored(rt, name) !== undefined;
}

export function getValue(rt: Runtime, name: string): SieveValue {
  const s = stored(rt, name);
  if (s === undefined) return '';
  const e = table(rt, name).get(name);
  return e && e.str === s ? e.value : s;
}

export function setValue(rt: Runtime, name: string, value: SieveValue): void {
  const t = table(rt, name);
  if (typeof value === 'string') {
    t.delete(name);
    rt.setVariable(name, value);
    return;
  }
  const bounded = clip(value, rt.limits.maxVariableSize);
  rt.setVariable(name, toStr(bounded));
  // The string actually stored (it may have been truncated to the size limit).
  t.set(name, { str: stored(rt, name) ?? '', value: bounded });
}

/** RFC 5229 3's bound on a variable's length holds for each string inside a list or hash too. */
function clip(v: SieveValue, max: number): SieveValue {
  if (typeof v === 'string') {
    if (v.length <= max) return v;
    // Never cut a surrogate pair in half.
    const c = v.charCodeAt(max - 1);
    return v.slice(0, c >= 0xd800 && c <= 0xdbff ? max - 1 : max);
  }
  if (Array.isArray(v)) return v.map((x) => clip(x, max));
  return new Map([...v].map(([k, x]) => [k, clip(x, max)]));
}

export function toStr(v: SieveValue): string {
  if (typeof v === 'string') return v;
  const items = Array.isArray(v) ? v : [...v.values()];
  return items.map(toStr).join(' ');
}

/** A value as a string list: a string is one item, a list its items, a hash its values. */
export function toList(v: SieveValue): string[] {
  if (typeof v === 'string') return [v];
  const items = Array.isArray(v) ? v : [...v.values()];
  return items.map(toStr);
}

export function typeOf(v: SieveValue | undefined): 'undef' | 'string' | 'list' | 'hash' {
  if (v === undefined) return 'undef';
  return typeof v === 'string' ? 'string' : Array.isArray(v) ? 'list' : 'hash';
}

/**
 * is_true: false for the empty string, "0" and "false" (any case), and for
 * an empty list or hash; true otherwise. Momentum scripts use "0"/"1" and
 * "true"/"false" flags, and context variables such as `tls` are "true"/"false".
 */
export function truthy(v: SieveValue): boolean {
  if (typeof v === 'string') return v !== '' && v !== '0' && v.toLowerCase() !== 'false';
  return Array.isArray(v) ? v.length > 0 : v.size > 0;
}

function key(rt: Runtime, k: IndexKey): string | number {
  if (k.kind === 'number') return k.value;
  if (k.kind === 'template') return rt.str(k.template);
  return toStr(readRef(rt, k.ref));
}

/** One index step; undefined when the key is not there. */
function step(v: SieveValue, k: string | number): SieveValue | undefined {
  if (Array.isArray(v)) {
    const n = typeof k === 'number' ? k : /^-?[0-9]+$/.test(k) ? Number(k) : NaN;
    // Negative indexes count from the end, as in Perl (Momentum's model).
    return Number.isInteger(n) ? v[n < 0 ? v.length + n : n] : undefined;
  }
  if (v instanceof Map) return v.get(String(k));
  return undefined;
}

/** The value of `$name[...]`, or undefined when a step of the path is missing. */
export function lookupRef(rt: Runtime, ref: VarRef): SieveValue | undefined {
  if (!isDefined(rt, ref.name)) return undefined;
  let v: SieveValue | undefined = getValue(rt, ref.name);
  for (const k of ref.path) {
    if (v === undefined) return undefined;
    v = step(v, key(rt, k));
  }
  return v;
}

/** `$name[...]` as a value: a missing variable or key reads as the empty string (like `${x}`). */
export function readRef(rt: Runtime, ref: VarRef): SieveValue {
  return lookupRef(rt, ref) ?? '';
}

/**
 * `$name[k1][k2] = value`: creates hashes on the way (a number key into a
 * list replaces or appends an item). A string in the way is replaced.
 */
export function writeRef(rt: Runtime, ref: VarRef, value: SieveValue): void {
  if (ref.path.length === 0) return setValue(rt, ref.name, value);
  const keys = ref.path.map((k) => key(rt, k));
  const root = isDefined(rt, ref.name) ? getValue(rt, ref.name) : '';
  setValue(rt, ref.name, put(root, keys, value));
}

function put(container: SieveValue, keys: Array<string | number>, value: SieveValue): SieveValue {
  if (keys.length === 0) return value;
  const [k, ...rest] = keys as [string | number, ...Array<string | number>];
  if (Array.isArray(container) && typeof k === 'number') {
    const copy = [...container];
    const i = k < 0 ? copy.length + k : k;
    if (i < 0 || i > copy.length) return copy;
    copy[i] = put(copy[i] ?? '', rest, value);
    return copy;
  }
  const map: SieveHash = container instanceof Map ? new Map(container) : new Map();
  map.set(String(k), put(map.get(String(k)) ?? '', rest, value));
  return map;
}
