/**
 * Replicated caches (sieve-ref-ec-cluster-cache-get.md,
 * sieve-ref-ec-cluster-cache-set.md): ec_cluster_cache_set "cache" "key"
 * "value" "ttl" keeps a value, and ec_cluster_cache_get "cache" "key" reads
 * it back ("" when the cache holds none). The caches are the host's
 * (MomentumHost.clusterCaches, src/sievepp/cluster-caches.ts): shared
 * through Redis when one is configured, else the server's, and they outlive
 * the run and a reload.
 */
import type { Bound } from '../../sieve/registry.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import { andThen } from '../../sieve/interpreter.js';
import { type ClusterCacheStore, clusterCacheTtl } from '../cluster-caches.js';
import { argString, type SieveFunction } from '../functions.js';
import { hostOf } from '../host.js';

function cachesOf(b: Bound, rt: Runtime, fn: string): ClusterCacheStore {
  const c = hostOf(rt).clusterCaches;
  if (!c) return rt.fail(`${fn}: this host keeps no replicated caches`, b.node.pos);
  return c;
}

const CACHE = { name: 'replication_name', type: 'string' } as const;
const KEY = { name: 'key', type: 'string' } as const;
const TTL = { name: 'ttl', type: 'string' } as const;

/** A literal ttl, checked when the script is compiled. */
function literal(b: Bound, i: number): string | undefined {
  const a = b.args[i];
  return a?.kind === 'string' && typeof a.template === 'string' ? a.template : undefined;
}

const set: SieveFunction = {
  name: 'ec_cluster_cache_set',
  uses: { command: true },
  params: [CACHE, KEY, { name: 'value', type: 'string' }, TTL],
  validate(b, v) {
    const ttl = literal(b, 3);
    const parsed = ttl === undefined ? undefined : clusterCacheTtl(ttl);
    if (typeof parsed === 'object') v.error(b.args[3]!.node.pos, `ec_cluster_cache_set: ${parsed.problem}`);
  },
  call(b, rt) {
    const ttl = clusterCacheTtl(argString(b, rt, 3) ?? '');
    if (typeof ttl === 'object') return rt.fail(`ec_cluster_cache_set: ${ttl.problem}`, b.node.pos);
    cachesOf(b, rt, 'ec_cluster_cache_set').set(argString(b, rt, 0) ?? '', argString(b, rt, 1) ?? '', argString(b, rt, 2) ?? '', ttl, rt.now().getTime());
  },
};

const get: SieveFunction = {
  name: 'ec_cluster_cache_get',
  uses: { value: true },
  params: [CACHE, KEY],
  call(b, rt) {
    return andThen(cachesOf(b, rt, 'ec_cluster_cache_get').get(argString(b, rt, 0) ?? '', argString(b, rt, 1) ?? '', rt.now().getTime()), (value) => value ?? '');
  },
};

export const clusterCacheFunctions: SieveFunction[] = [set, get];
