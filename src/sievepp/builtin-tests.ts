/**
 * Momentum Sieve++ tests (docs/sieve-reference.md):
 * ec_test, vctx_mess / vctx_conn, isset, is_true, type, is_valid_ip,
 * is_rfc821_ip. They reuse the standard match machinery (match types,
 * comparators, ${0}..${9} captures), so `:matches` and `:regex` behave
 * exactly as in the `string` test of RFC 5229 5.
 */
import { matchTest } from '../sieve/interpreter.js';
import type { Bound } from '../sieve/registry.js';
import type { Runtime } from '../sieve/runtime/runtime.js';
import { argString, argValue, type SieveFunction } from './functions.js';
import { ipaddr } from './ipaddr.js';
import { contextValue, sessionOf } from './host.js';
import { lookupRef, refOf, truthy, typeOf } from './values.js';

/** `ec_test <match-type> value key`: the `string` test with Momentum's name. */
const ecTest: SieveFunction = {
  name: 'ec_test',
  uses: { test: true },
  families: ['comparator', 'match-type'],
  // Values may be numbers (`ec_test :value "ge" :comparator "i;ascii-numeric" $n 1048576`).
  params: [
    { name: 'value', type: 'any' },
    { name: 'key list', type: 'any' },
  ],
  call: (b, rt) => matchTest(b, rt, rt.list(b.args[0]!), rt.list(b.args[1]!)),
};

/**
 * `vctx <match-type> <keys> <values>`: Momentum's test of the message
 * context (falling back to the connection context, sieve-syntax-basic.md):
 * true when any of the keys has a value matching.
 */
const vctx: SieveFunction = {
  name: 'vctx',
  uses: { test: true },
  families: ['comparator', 'match-type'],
  params: [
    { name: 'context keys', type: 'any' },
    { name: 'key list', type: 'any' },
  ],
  call(b, rt) {
    const s = sessionOf(rt);
    const values: string[] = [];
    for (const key of rt.list(b.args[0]!)) {
      const v = contextValue(s.message, key) ?? contextValue(s.connection, key);
      if (v !== undefined) values.push(v);
    }
    return matchTest(b, rt, values, rt.list(b.args[1]!));
  },
};

/** `vctx_mess <match-type> key value`: a context variable against keys; an unset one matches nothing. */
const contextTest = (name: 'vctx_mess' | 'vctx_conn'): SieveFunction => ({
  name,
  uses: { test: true },
  families: ['comparator', 'match-type'],
  params: [
    { name: 'context key', type: 'string' },
    { name: 'key list', type: 'list' },
  ],
  call(b, rt) {
    const s = sessionOf(rt);
    const v = contextValue(name === 'vctx_mess' ? s.message : s.connection, rt.string(b.args[0]!));
    return matchTest(b, rt, v === undefined ? [] : [v], rt.list(b.args[1]!));
  },
});

/** The variable a `$x[...]` or a variable-name string argument names, looked up; undefined when unset. */
function lookupArg(b: Bound, rt: Runtime) {
  const a = b.args[0]!;
  const ref = refOf(a);
  if (ref) return lookupRef(rt, ref);
  return lookupRef(rt, { name: rt.string(a).toLowerCase(), path: [], pos: a.node.pos });
}

/**
 * `isset $x` (or `isset "x"`): the variable (or the indexed item) has a
 * value. `isset $x <key>` asks for one item: a list index or a hash key
 * (sieve-syntax-basic.md: `isset $a 1`, `isset $c "thing"`).
 */
const isset: SieveFunction = {
  name: 'isset',
  uses: { test: true },
  params: [
    { name: 'variable', type: 'any' },
    { name: 'key', type: 'any', optional: true },
  ],
  call(b, rt) {
    const v = lookupArg(b, rt);
    if (b.args.length < 2 || v === undefined) return v !== undefined;
    const key = argString(b, rt, 1)!;
    if (Array.isArray(v)) {
      const i = /^-?[0-9]+$/.test(key) ? Number(key) : NaN;
      return Number.isInteger(i) && (i < 0 ? v.length + i >= 0 : i < v.length);
    }
    return v instanceof Map && v.has(key);
  },
};

/** `is_true <value>`: false for "", "0", "false" and empty lists (values.ts, truthy). */
const isTrue: SieveFunction = {
  name: 'is_true',
  uses: { test: true },
  params: [{ name: 'value', type: 'any' }],
  call: (b, rt) => truthy(argValue(b, rt, 0)!),
};

const TYPES = new Set(['string', 'list', 'hash', 'undef', 'stringlist', 'number']);
/** Momentum's names for the types: a string list is a list; a number is a string here. */
const TYPE_ALIASES: Readonly<Record<string, string>> = { stringlist: 'list', number: 'string' };

/**
 * `type <value> <type-names>`: holds when the value is one of string, list,
 * hash, undef. With one argument, as a value, it gives the type name.
 */
const type: SieveFunction = {
  name: 'type',
  uses: { test: true, value: true },
  // `type :is $x "stringlist"` (Momentum's form) means the same as without :is.
  tags: [{ name: 'is' }],
  params: [
    { name: 'value', type: 'any' },
    { name: 'type names', type: 'list', optional: true },
  ],
  validate(b, v) {
    const names = b.args[1];
    const list = names?.kind === 'stringlist' ? names.templates : names?.kind === 'string' && !refOf(names) ? [names.template] : [];
    for (const t of list) {
      if (typeof t === 'string' && !TYPES.has(t.toLowerCase())) v.error(names!.node.pos, `unknown type name '${t}' for the type test (string, list, hash or undef)`);
    }
  },
  call(b, rt) {
    // `$x` is looked up (unset is undef); a literal is its own value ("a" is a string, ["a"] a list).
    const a = b.args[0]!;
    const ref = refOf(a);
    const t = typeOf(ref ? lookupRef(rt, ref) : argValue(b, rt, 0));
    if (b.args.length === 1) return t;
    return rt.list(b.args[1]!).some((n) => (TYPE_ALIASES[n.toLowerCase()] ?? n.toLowerCase()) === t);
  },
};

/** `is_valid_ip <value>`: a dotted-quad IPv4 address or an IPv6 address (no brackets). */
const isValidIp: SieveFunction = {
  name: 'is_valid_ip',
  uses: { test: true },
  params: [{ name: 'value', type: 'string' }],
  call(b, rt) {
    const s = argString(b, rt, 0)!;
    return ipaddr().IPv4.isValidFourPartDecimal(s) || (s.includes(':') && ipaddr().IPv6.isValid(s) && !s.includes('%'));
  },
};

/**
 * `is_rfc821_ip <value>`: an address literal as SMTP writes it (RFC 5321
 * 4.1.3): `[192.0.2.1]` or `[IPv6:2001:db8::1]`; a bare dotted quad counts
 * too (RFC 821's "dotnum"), a bare IPv6 address does not.
 */
const isRfc821Ip: SieveFunction = {
  name: 'is_rfc821_ip',
  uses: { test: true },
  params: [{ name: 'value', type: 'string' }],
  call(b, rt) {
    const s = argString(b, rt, 0)!;
    const inner = /^\[(.*)\]$/.exec(s)?.[1];
    if (inner === undefined) return ipaddr().IPv4.isValidFourPartDecimal(s);
    if (/^ipv6:/i.test(inner)) return ipaddr().IPv6.isValid(inner.slice(5)) && !inner.includes('%');
    return ipaddr().IPv4.isValidFourPartDecimal(inner);
  },
};

export const sieveppTests: SieveFunction[] = [ecTest, vctx, contextTest('vctx_mess'), contextTest('vctx_conn'), isset, isTrue, type, isValidIp, isRfc821Ip];
