/**
 * Gauge caches (sieve-ref-ec-gauge-cache.md): ec_gauge_cache_init "cache"
 * <most elements> <seconds to expiration> [<replicate>], then
 * ec_gauge_cache_inc / _dec "cache" "key" to move a key's counter, and
 * ec_gauge_cache_get "cache" "key" for its value (0 for a key the cache
 * does not hold). The caches are the host's (MomentumHost.gauges,
 * src/sievepp/gauges.ts): they outlive the run and a reload, and a
 * cluster worker's are its primary's, so that the workers of one server
 * share them. inc, dec and get on a cache never made (or dropped) are
 * runtime errors, as init must come first.
 *
 * The replicate flag asks Momentum to broadcast the cache's changes to the
 * other nodes of a cluster ("Shared Gauge Caches",
 * 3-reference-cluster-config-replication.md); smtp-cbv's workers already
 * share one server's caches, and several hosts do not share them, so the
 * flag is read (a whole number) and changes nothing.
 */
import type { Bound } from '../../sieve/registry.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import { andThen } from '../../sieve/interpreter.js';
import { argNumber, argString, type SieveFunction } from '../functions.js';
import { gaugeShapeProblem, type GaugeStore } from '../gauges.js';
import { hostOf } from '../host.js';

function gaugesOf(b: Bound, rt: Runtime, fn: string): GaugeStore {
  const g = hostOf(rt).gauges;
  if (!g) return rt.fail(`${fn}: this host keeps no gauge caches`, b.node.pos);
  return g;
}

function noCache(b: Bound, rt: Runtime, fn: string, name: string): never {
  return rt.fail(`${fn}: there is no gauge cache '${name}' (ec_gauge_cache_init it first)`, b.node.pos);
}

const CACHE = { name: 'name for the cache', type: 'string' } as const;
const KEY = { name: 'key', type: 'string' } as const;
const now = (rt: Runtime) => rt.now().getTime();

/** A literal argument's number, for compile-time checks; undefined when it is not a literal whole number. */
function literalNumber(b: Bound, i: number): number | undefined {
  const a = b.args[i];
  if (a?.kind === 'number') return a.value;
  if (a?.kind === 'string' && typeof a.template === 'string' && /^\s*-?[0-9]+\s*$/.test(a.template)) return Number(a.template);
  return undefined;
}

const init: SieveFunction = {
  name: 'ec_gauge_cache_init',
  uses: { command: true },
  params: [CACHE, { name: 'max number of elements', type: 'number' }, { name: 'time to expiration of an element', type: 'number' }, { name: 'replicate', type: 'number', optional: true }],
  validate(b, v) {
    // Each literal checked with the other at a good value, so that each error is at its own argument.
    const size = literalNumber(b, 1);
    const ttl = literalNumber(b, 2);
    const sizeProblem = size === undefined ? undefined : gaugeShapeProblem(size, 1);
    const ttlProblem = ttl === undefined ? undefined : gaugeShapeProblem(1, ttl);
    if (sizeProblem) v.error(b.args[1]!.node.pos, `ec_gauge_cache_init: ${sizeProblem}`);
    if (ttlProblem) v.error(b.args[2]!.node.pos, `ec_gauge_cache_init: ${ttlProblem}`);
  },
  call(b, rt) {
    const size = argNumber(b, rt, 1, 'ec_gauge_cache_init');
    const ttlSeconds = argNumber(b, rt, 2, 'ec_gauge_cache_init');
    if (b.args[3]) argNumber(b, rt, 3, 'ec_gauge_cache_init');
    const problem = gaugeShapeProblem(size, ttlSeconds);
    if (problem) return rt.fail(`ec_gauge_cache_init: ${problem}`, b.node.pos);
    gaugesOf(b, rt, 'ec_gauge_cache_init').init(argString(b, rt, 0) ?? '', { size, ttlSeconds });
  },
};

const move = (fn: 'ec_gauge_cache_inc' | 'ec_gauge_cache_dec'): SieveFunction => ({
  name: fn,
  uses: { command: true },
  params: [CACHE, KEY],
  call(b, rt) {
    const name = argString(b, rt, 0) ?? '';
    const key = argString(b, rt, 1) ?? '';
    const g = gaugesOf(b, rt, fn);
    const known = fn === 'ec_gauge_cache_inc' ? g.inc(name, key, now(rt)) : g.dec(name, key, now(rt));
    if (!known) noCache(b, rt, fn, name);
  },
});

const get: SieveFunction = {
  name: 'ec_gauge_cache_get',
  uses: { value: true },
  params: [CACHE, KEY],
  call(b, rt) {
    const name = argString(b, rt, 0) ?? '';
    return andThen(gaugesOf(b, rt, 'ec_gauge_cache_get').get(name, argString(b, rt, 1) ?? '', now(rt)), (value) =>
      value === undefined ? noCache(b, rt, 'ec_gauge_cache_get', name) : String(value),
    );
  },
};

export const gaugeCacheFunctions: SieveFunction[] = [init, move('ec_gauge_cache_inc'), move('ec_gauge_cache_dec'), get];
