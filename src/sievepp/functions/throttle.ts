/**
 * Named throttles (sieve-ref-ec-throttle.md): ec_throttle_create "name"
 * "X/Y", then ec_throttle_inc / ec_throttle_dec to count a message in or
 * out, ec_throttle_check (true when the throttle's window holds more than
 * X), and ec_throttle_tarpit, which counts the message and, when the
 * window is full, delays the reply until the first later window with room
 * (an ec_tarpit of that long, bounded as ec_tarpit is). The throttles are
 * the host's (MomentumHost.throttles, src/sievepp/throttles.ts): they
 * outlive the run and a reload, and a cluster worker's are its primary's,
 * so that the workers of one server share them (an answer then takes a
 * round trip). Any function but create on a throttle
 * that does not exist (never created, or dropped) is a runtime error, as
 * the page says create must come first.
 */
import type { Bound } from '../../sieve/registry.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import { takeTarpit } from '../builtin-actions.js';
import { argString, type SieveFunction } from '../functions.js';
import { hostOf } from '../host.js';
import { andThen } from '../../sieve/interpreter.js';
import { parseThrottleRate, type ThrottleStore } from '../throttles.js';

function throttlesOf(b: Bound, rt: Runtime, fn: string): ThrottleStore {
  const t = hostOf(rt).throttles;
  if (!t) return rt.fail(`${fn}: this host keeps no throttles`, b.node.pos);
  return t;
}

const now = (rt: Runtime) => rt.now().getTime();

/** The runtime error for a throttle that does not exist. */
function noThrottle(b: Bound, rt: Runtime, fn: string, name: string): never {
  return rt.fail(`${fn}: there is no throttle '${name}' (ec_throttle_create it first)`, b.node.pos);
}

const NAME = { name: 'name', type: 'string' } as const;

const create: SieveFunction = {
  name: 'ec_throttle_create',
  uses: { command: true },
  params: [NAME, { name: 'messages/seconds', type: 'string' }],
  call(b, rt) {
    const spec = argString(b, rt, 1) ?? '';
    const rate = parseThrottleRate(spec);
    if (!rate) return rt.fail(`ec_throttle_create: '${spec}' is not a rate such as "30/1" (messages/seconds)`, b.node.pos);
    throttlesOf(b, rt, 'ec_throttle_create').create(argString(b, rt, 0) ?? '', rate, now(rt));
  },
};

const count = (fn: 'ec_throttle_inc' | 'ec_throttle_dec'): SieveFunction => ({
  name: fn,
  uses: { command: true },
  params: [NAME],
  call(b, rt) {
    const name = argString(b, rt, 0) ?? '';
    const t = throttlesOf(b, rt, fn);
    return andThen(fn === 'ec_throttle_inc' ? t.inc(name, now(rt)) : t.dec(name, now(rt)), (known) => (known ? undefined : noThrottle(b, rt, fn, name)));
  },
});

const check: SieveFunction = {
  name: 'ec_throttle_check',
  uses: { value: true, test: true },
  params: [NAME],
  call(b, rt) {
    const name = argString(b, rt, 0) ?? '';
    // A boolean: "true" or "false" when assigned, as the page's example compares it.
    return andThen(throttlesOf(b, rt, 'ec_throttle_check').exceeded(name, now(rt)), (over) => over ?? noThrottle(b, rt, 'ec_throttle_check', name));
  },
};

const tarpit: SieveFunction = {
  name: 'ec_throttle_tarpit',
  uses: { command: true },
  params: [NAME],
  call(b, rt) {
    const name = argString(b, rt, 0) ?? '';
    return andThen(throttlesOf(b, rt, 'ec_throttle_tarpit').tarpit(name, now(rt)), (waitMs) => {
      if (waitMs === undefined) return noThrottle(b, rt, 'ec_throttle_tarpit', name);
      if (waitMs > 0) takeTarpit(b, rt, waitMs / 1000, `ec_throttle_tarpit: the throttle '${name}' asks ${waitMs / 1000} seconds, over the limit`);
    });
  },
};

export const throttleFunctions: SieveFunction[] = [create, count('ec_throttle_inc'), count('ec_throttle_dec'), check, tarpit];
