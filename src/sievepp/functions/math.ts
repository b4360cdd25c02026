/**
 * Momentum's arithmetic functions (sieve-ref-ec-add.md, -ec-sub, -ec-mul,
 * -ec-div, -ec-mod, -ec-ceil, -ec-floor, -ec-round, -ec-trunc,
 * -ec-nearbyint) and ec_rand (sieve-ref-ec-rand.md). Momentum computes in
 * C doubles and prints them with "%f" (`55.540000`); ec_mod works on
 * integers and prints an integer.
 */
import { randomBelow } from '../../random.js';
import type { Bound } from '../../sieve/registry.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import { argString, argValue, type SieveFunction } from '../functions.js';

/** A numeric argument: a decimal number as text (leading/trailing spaces allowed); anything else is a runtime error. */
function num(b: Bound, rt: Runtime, i: number, fn: string): number {
  const s = argString(b, rt, i)!.trim();
  if (!/^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$/.test(s)) rt.fail(`${fn}: argument ${i + 1} must be a number, not '${s}'`, b.node.pos);
  return Number(s);
}

/** C's printf("%f"). */
const printf = (n: number): string => (Object.is(n, -0) ? 0 : n).toFixed(6);

const binary = (name: string, op: (a: number, b: number, fail: (m: string) => never) => number): SieveFunction => ({
  name,
  uses: { value: true },
  params: [
    { name: 'a', type: 'any' },
    { name: 'b', type: 'any' },
  ],
  call: (b, rt) => printf(op(num(b, rt, 0, name), num(b, rt, 1, name), (m) => rt.fail(`${name}: ${m}`, b.node.pos))),
});

const unary = (name: string, op: (a: number) => number): SieveFunction => ({
  name,
  uses: { value: true },
  params: [{ name: 'a', type: 'any' }],
  call: (b, rt) => printf(op(num(b, rt, 0, name))),
});

/** C's nearbyint in the default rounding mode: halves go to the even neighbour. */
function nearbyint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** C's round: halves away from zero. */
const round = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

const mod: SieveFunction = {
  name: 'ec_mod',
  uses: { value: true },
  params: [
    { name: 'a', type: 'any' },
    { name: 'b', type: 'any' },
  ],
  call(b, rt) {
    const x = Math.trunc(num(b, rt, 0, 'ec_mod'));
    const y = Math.trunc(num(b, rt, 1, 'ec_mod'));
    if (y === 0) rt.fail('ec_mod: division by zero', b.node.pos);
    return String(x % y);
  },
};

/**
 * `ec_rand <n>`: a random integer from 0 to n-1; `ec_rand <list>`: a random
 * item of the list (sieve-ref-ec-rand.md).
 */
const rand: SieveFunction = {
  name: 'ec_rand',
  uses: { value: true },
  params: [{ name: 'limit or list', type: 'any' }],
  call(b, rt) {
    const v = argValue(b, rt, 0)!;
    if (Array.isArray(v)) return v.length ? v[randomBelow(v.length)]! : '';
    const n = Math.trunc(num(b, rt, 0, 'ec_rand'));
    if (n < 1) rt.fail(`ec_rand: the limit must be at least 1, not ${n}`, b.node.pos);
    return String(randomBelow(Math.min(n, 2 ** 48 - 1)));
  },
};

export const mathFunctions: SieveFunction[] = [
  binary('ec_add', (a, b) => a + b),
  binary('ec_sub', (a, b) => a - b),
  binary('ec_mul', (a, b) => a * b),
  binary('ec_div', (a, b, fail) => (b === 0 ? fail('division by zero') : a / b)),
  mod,
  unary('ec_ceil', Math.ceil),
  unary('ec_floor', Math.floor),
  unary('ec_round', round),
  unary('ec_trunc', Math.trunc),
  unary('ec_nearbyint', nearbyint),
  rand,
];
