/**
 * Momentum's hash tables (sieve-ecaddons.md, "Hash tables";
 * sieve-ref-hash-create.md and the other hash_* pages): a hash is a value
 * (values.ts), read with `$h["key"]` and changed with hash_set.
 */
import { argString, argValue, type SieveFunction } from '../functions.js';
import { refOf, type SieveHash, type SieveValue, writeRef, readRef } from '../values.js';
import type { Bound } from '../../sieve/registry.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import { constantString, type Validator } from '../../sieve/validate.js';
import type { Position } from '../../diagnostics.js';
import { hostOf } from '../host.js';

/** The hash a `$h` argument holds; a runtime error when it is not a hash. */
function hashArg(b: Bound, rt: Runtime, fn: string): SieveHash {
  const v = argValue(b, rt, 0);
  if (v instanceof Map) return v;
  return rt.fail(`${fn}: the first argument must be a hash (made by hash_create)`, b.node.pos);
}

/** The `$h` argument a function changes in place; a compile error when it is not a variable. */
function checkVariable(fn: string) {
  return (b: Bound, v: { error(pos: Bound['node']['pos'], m: string): void }) => {
    if (!refOf(b.args[0])) v.error(b.args[0]!.node.pos, `${fn}: the first argument must be a variable holding a hash, such as $h`);
  };
}

/** A `hash_set $h "key" ...` whose key is a literal: its value when that is one too, and where it is. */
export interface LiteralHashSet {
  key: string;
  value?: string;
  /** Where the key is written. */
  keyPos: Position;
  /** Where the value is written. */
  pos: Position;
}

/** Per script being compiled: the literal hash_sets on each plain `$h`, in script order. */
const literalSets = new WeakMap<Validator, Map<string, LiteralHashSet[]>>();

/**
 * The literal hash_sets made so far on the variable `name`: a function
 * that takes a hash of named parameters checks them at compile time
 * (ec_dkim_sign's parameters).
 */
export function literalHashSets(v: Validator, name: string): readonly LiteralHashSet[] {
  return literalSets.get(v)?.get(name.toLowerCase()) ?? [];
}

/** A string argument's text when it has no variable or macro in it ("%{d}" that is no macro was split from the text around it, script.ts). */
function literalText(a: Bound['args'][number] | undefined): string | null {
  const text = constantString(a);
  if (text !== null || a?.kind !== 'string' || !Array.isArray(a.template) || refOf(a)) return text;
  return a.template.every((p) => typeof p === 'string') ? a.template.join('') : null;
}

function recordLiteralSet(b: Bound, v: Validator): void {
  const ref = refOf(b.args[0]);
  const key = literalText(b.args[1]);
  if (!ref || ref.path.length || key === null) return;
  const value = literalText(b.args[2]);
  let byName = literalSets.get(v);
  if (!byName) literalSets.set(v, (byName = new Map()));
  const list = byName.get(ref.name.toLowerCase()) ?? [];
  list.push({ key, ...(value !== null ? { value } : {}), keyPos: b.args[1]!.node.pos, pos: (value !== null ? b.args[2]! : b.args[1]!).node.pos });
  byName.set(ref.name.toLowerCase(), list);
}

const create: SieveFunction = {
  name: 'hash_create',
  uses: { value: true },
  params: [],
  call: () => new Map<string, SieveValue>(),
};

/** `hash_set $h <key> <value>`: sets one key (a list or hash value is kept as it is). */
const set: SieveFunction = {
  name: 'hash_set',
  uses: { command: true },
  params: [
    { name: 'hash', type: 'any' },
    { name: 'key', type: 'any' },
    { name: 'value', type: 'any' },
  ],
  validate(b, v) {
    checkVariable('hash_set')(b, v);
    recordLiteralSet(b, v);
  },
  call(b, rt) {
    const ref = refOf(b.args[0])!;
    const current = readRef(rt, ref);
    if (!(current instanceof Map)) rt.fail('hash_set: the first argument must be a hash (made by hash_create)', b.node.pos);
    writeRef(rt, { ...ref, path: [...ref.path, { kind: 'template', template: argString(b, rt, 1)! }] }, argValue(b, rt, 2)!);
  },
};

/** `hash_delete $h <key>`: removes one key. */
const del: SieveFunction = {
  name: 'hash_delete',
  uses: { command: true },
  params: [
    { name: 'hash', type: 'any' },
    { name: 'key', type: 'any' },
  ],
  validate: checkVariable('hash_delete'),
  call(b, rt) {
    const ref = refOf(b.args[0])!;
    const h = new Map(hashArg(b, rt, 'hash_delete'));
    h.delete(argString(b, rt, 1)!);
    writeRef(rt, ref, h);
  },
};

const get: SieveFunction = {
  name: 'hash_get',
  uses: { value: true },
  params: [
    { name: 'hash', type: 'any' },
    { name: 'key', type: 'any' },
  ],
  call: (b, rt) => hashArg(b, rt, 'hash_get').get(argString(b, rt, 1)!) ?? '',
};

const keys: SieveFunction = {
  name: 'hash_keys',
  uses: { value: true },
  params: [{ name: 'hash', type: 'any' }],
  call: (b, rt) => [...hashArg(b, rt, 'hash_keys').keys()],
};

const values: SieveFunction = {
  name: 'hash_values',
  uses: { value: true },
  params: [{ name: 'hash', type: 'any' }],
  call: (b, rt) => [...hashArg(b, rt, 'hash_values').values()],
};

/** A value as Momentum's hash_dump writes it to the log. */
function dump(v: SieveValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(dump).join(', ')}]`;
  return `{${[...v].map(([k, x]) => `${JSON.stringify(k)} => ${dump(x)}`).join(', ')}}`;
}

/** `hash_dump <value>`: writes the value (a hash, list or string) to the log, for debugging (sieve-ref-hash-dump.md). */
const hashDump: SieveFunction = {
  name: 'hash_dump',
  uses: { command: true },
  params: [{ name: 'value', type: 'any' }],
  call(b, rt) {
    const text = dump(argValue(b, rt, 0)!);
    rt.log.push(text);
    hostOf(rt).log?.('debug', text);
  },
};

export const hashFunctions: SieveFunction[] = [create, set, del, get, keys, values, hashDump];
