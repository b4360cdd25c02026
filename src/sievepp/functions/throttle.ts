/**
 * Named throttles, two families with one definition each, parameterised by
 * the store they count in:
 *
 * - ec_throttle_* (sieve-ref-ec-throttle.md): the server's own throttles
 *   (MomentumHost.throttles), a cluster worker's kept by its primary, as one
 *   Momentum node counts its own;
 * - ec_shared_throttle_* (sieve-ref-ec-shared-throttle.md): counted across
 *   the cluster (MomentumHost.sharedThrottles: every smtp-cbv sharing the
 *   Redis, src/store/redis-throttles.ts; without Redis, one server's).
 *
 * `create "name" "X/Y"`, then `inc` (and, for ec_throttle, `dec`) to count a
 * message in or out, `check` (true when the throttle's window holds more
 * than X), and `tarpit`, which counts the message and, when the window is
 * full, delays the reply until the first later window with room (an
 * ec_tarpit of that long, bounded as ec_tarpit is). Any function but create
 * on a throttle that does not exist (never created, or dropped) is a
 * runtime error, as the pages say create must come first. A literal rate
 * (or epsilon) that cannot be one is a compile error.
 */
import type { Bound } from '../../sieve/registry.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import type { Validator } from '../../sieve/validate.js';
import { takeTarpit } from '../builtin-actions.js';
import { argString, type ParamSpec, type SieveFunction } from '../functions.js';
import { hostOf, type MomentumHost } from '../host.js';
import { andThen } from '../../sieve/interpreter.js';
import { parseThrottleRate, type ThrottleStore } from '../throttles.js';

interface Family {
  prefix: 'ec_throttle' | 'ec_shared_throttle';
  store(host: MomentumHost): ThrottleStore | undefined;
  /** Momentum's shared throttles have no dec. */
  dec: boolean;
  /** ec_shared_throttle_create's third argument (see below). */
  epsilon: boolean;
}

const NAME = { name: 'name', type: 'string' } as const;

const rateProblem = (fn: string, spec: string) => `${fn}: '${spec}' is not a rate such as "30/1" (messages/seconds)`;

/**
 * Epsilon (sieve-ref-ec-shared-throttle.md): "a positive floating point
 * number strictly less than one", the share of the throttle one node may
 * take in one round of Momentum's cluster gossip. Redis counts every node's
 * messages in one place, atomically, so there is nothing to converge: the
 * value is checked and has no other effect (docs/momentum-compatibility.md).
 */
function epsilonProblem(spec: string): string | undefined {
  const e = /^\s*(\d*\.?\d+(e-?\d+)?)\s*$/i.test(spec) ? Number(spec) : NaN;
  return e > 0 && e < 1 ? undefined : `ec_shared_throttle_create: epsilon '${spec}' is not a number above 0 and below 1`;
}

function family(f: Family): SieveFunction[] {
  const fnName = (op: string) => `${f.prefix}_${op}`;
  const now = (rt: Runtime) => rt.now().getTime();

  function storeOf(b: Bound, rt: Runtime, fn: string): ThrottleStore {
    const t = f.store(hostOf(rt));
    if (!t) return rt.fail(`${fn}: this host keeps no throttles`, b.node.pos);
    return t;
  }

  /** The runtime error for a throttle that does not exist. */
  function noThrottle(b: Bound, rt: Runtime, fn: string, name: string): never {
    return rt.fail(`${fn}: there is no throttle '${name}' (${fnName('create')} it first)`, b.node.pos);
  }

  const createName = fnName('create');
  const create: SieveFunction = {
    name: createName,
    uses: { command: true },
    params: [NAME, { name: 'messages/seconds', type: 'string' }, ...(f.epsilon ? [{ name: 'epsilon', type: 'string', optional: true } satisfies ParamSpec] : [])],
    validate(b: Bound, v: Validator) {
      const [, rate, epsilon] = b.args;
      if (rate?.kind === 'string' && typeof rate.template === 'string' && !parseThrottleRate(rate.template)) v.error(rate.node.pos, rateProblem(createName, rate.template));
      const e = epsilon?.kind === 'string' && typeof epsilon.template === 'string' ? epsilonProblem(epsilon.template) : undefined;
      if (e) v.error(epsilon!.node.pos, e);
    },
    call(b, rt) {
      const spec = argString(b, rt, 1) ?? '';
      const rate = parseThrottleRate(spec);
      if (!rate) return rt.fail(rateProblem(createName, spec), b.node.pos);
      if (f.epsilon && b.args[2]) {
        const e = epsilonProblem(argString(b, rt, 2) ?? '');
        if (e) return rt.fail(e, b.node.pos);
      }
      storeOf(b, rt, createName).create(argString(b, rt, 0) ?? '', rate, now(rt));
    },
  };

  const count = (op: 'inc' | 'dec'): SieveFunction => ({
    name: fnName(op),
    uses: { command: true },
    params: [NAME],
    call(b, rt) {
      const fn = fnName(op);
      const name = argString(b, rt, 0) ?? '';
      const t = storeOf(b, rt, fn);
      return andThen(op === 'inc' ? t.inc(name, now(rt)) : t.dec(name, now(rt)), (known) => (known ? undefined : noThrottle(b, rt, fn, name)));
    },
  });

  const check: SieveFunction = {
    name: fnName('check'),
    uses: { value: true, test: true },
    params: [NAME],
    call(b, rt) {
      const fn = fnName('check');
      const name = argString(b, rt, 0) ?? '';
      // A boolean: "true" or "false" when assigned, as the pages' examples compare it.
      return andThen(storeOf(b, rt, fn).exceeded(name, now(rt)), (over) => over ?? noThrottle(b, rt, fn, name));
    },
  };

  const tarpit: SieveFunction = {
    name: fnName('tarpit'),
    uses: { command: true },
    params: [NAME],
    call(b, rt) {
      const fn = fnName('tarpit');
      const name = argString(b, rt, 0) ?? '';
      return andThen(storeOf(b, rt, fn).tarpit(name, now(rt)), (waitMs) => {
        if (waitMs === undefined) return noThrottle(b, rt, fn, name);
        if (waitMs > 0) takeTarpit(b, rt, waitMs / 1000, `${fn}: the throttle '${name}' asks ${waitMs / 1000} seconds, over the limit`);
      });
    },
  };

  return [create, count('inc'), ...(f.dec ? [count('dec')] : []), check, tarpit];
}

export const throttleFunctions: SieveFunction[] = family({ prefix: 'ec_throttle', store: (h) => h.throttles, dec: true, epsilon: false });

export const sharedThrottleFunctions: SieveFunction[] = family({ prefix: 'ec_shared_throttle', store: (h) => h.sharedThrottles, dec: false, epsilon: true });
