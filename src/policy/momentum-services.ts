/**
 * The long-lived services Momentum's Sieve++ functions reach through the
 * host (src/sievepp/host.ts): the configured datasources (with their result
 * caches), the CIDR tables (`cidr_list` scopes, and what define_cidr adds),
 * the per-IP counters, the named and shared throttles, the gauge caches, the
 * ec_include loader, ec_log_file's writer and ec_dkim_sign's defaults (the
 * opendkim scope).
 *
 * Create them once per process and keep them across reloads: a datasource
 * holds its connection and cache, the counters their history. The session
 * records the counters' `connections`, `receptions` and `rejections`
 * events (src/sievepp/counters.ts, SERIES).
 */
import { appendFile, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { CidrTables, parseBlock } from '../sievepp/cidr.js';
import { type CounterStore, MemoryCounterStore } from '../sievepp/counters.js';
import { CachedDatasource, type Datasource } from '../sievepp/datasource.js';
import { openDatasource } from '../sievepp/datasources/index.js';
import type { MomentumHost } from '../sievepp/host.js';
import { type GaugeStore, NamedGauges } from '../sievepp/gauges.js';
import { type ClusterCacheStore, MemoryClusterCaches } from '../sievepp/cluster-caches.js';
import { includeLoader } from '../sievepp/include-loader.js';
import { RbldnsdFiles } from '../sievepp/rbldnsd-files.js';
import { NamedThrottles, type ThrottleStore } from '../sievepp/throttles.js';

export type MomentumServices = Required<Pick<MomentumHost, 'datasources' | 'cidr' | 'rbldnsd' | 'counters' | 'loadInclude' | 'appendLog' | 'spoolSpace' | 'throttles' | 'sharedThrottles' | 'gauges' | 'clusterCaches'>> & Pick<MomentumHost, 'dkim' | 'dkimDomains' | 'dkimAutoSign' | 'maildir'> & {
  close(): void;
};

export interface MomentumServiceOptions {
  counters?: CounterStore;
  /** The named throttles, to keep across reloads (created afresh otherwise). */
  throttles?: ThrottleStore;
  /** The shared throttles (src/store/redis-throttles.ts, or this server's), likewise. */
  sharedThrottles?: ThrottleStore;
  /** The gauge caches, to keep across reloads (created afresh otherwise). */
  gauges?: GaugeStore;
  /** The replicated caches (src/store/redis-caches.ts, or this server's), likewise. */
  clusterCaches?: ClusterCacheStore;
  onLogError?: (file: string, e: unknown) => void;
  /** Datasources that never write (the dry run: a policy's test reads its data and leaves it as it was). */
  readOnly?: boolean;
}

export function createMomentumServices(config: Config, options: MomentumServiceOptions = {}): MomentumServices {
  const datasources = new Map<string, Datasource>();
  for (const d of config.datasources) {
    // Momentum round-robins several uris; one back end each is what smtp-cbv opens.
    // A driver smtp-cbv lacks is the configuration's warning (config/build.ts); its queries fail as of an unknown name.
    const opened = openDatasource(d.uris[0] ?? '', d.baseDir, {
      readOnly: options.readOnly ?? false,
      assumeCharset: d.assumeCharset,
      connectionCache: { size: d.connectionCacheSize, lifeSeconds: d.connectionCacheLifeMs === null ? null : d.connectionCacheLifeMs / 1000 },
    });
    if (typeof opened === 'string') continue;
    datasources.set(d.name, new CachedDatasource(opened, { size: d.cacheSize, lifeSeconds: d.cacheLifeMs / 1000, maxRows: d.maxRows }));
  }
  const cidr = new CidrTables();
  for (const c of config.cidrLists) {
    const entries = [
      ...c.blocks.map((b) => ({ block: parseBlock(b), value: 'true' })),
      ...Object.entries(c.values).map(([b, value]) => ({ block: parseBlock(b), value })),
    ].flatMap((e) => (e.block ? [{ block: e.block, value: e.value }] : []));
    cidr.define(c.name, { type: Object.keys(c.values).length ? 'value' : 'boolean', entries, defaultValue: '', interpolate: false });
  }
  const baseDir = path.dirname(path.resolve(config.file));
  return {
    datasources,
    cidr,
    rbldnsd: new RbldnsdFiles(baseDir),
    counters: options.counters ?? new MemoryCounterStore(),
    loadInclude: includeLoader({ baseDir, datasources }),
    // ec_log_file: appended without blocking the session; a failure is reported, not thrown into the script.
    appendLog: (file, line) => void appendFile(path.resolve(baseDir, file), `${line}\n`).catch((e: unknown) => options.onLogError?.(file, e)),
    spoolSpace: () => fileSystemOf(config.spoolDir),
    throttles: options.throttles ?? new NamedThrottles(),
    sharedThrottles: options.sharedThrottles ?? new NamedThrottles(),
    gauges: options.gauges ?? new NamedGauges(),
    clusterCaches: options.clusterCaches ?? new MemoryClusterCaches(),
    // ec_dkim_sign's defaults: the opendkim scope (src/config/dkim-sign.ts).
    ...(config.dkimSign ? { dkim: config.dkimSign } : {}),
    ...(config.dkimDomains ? { dkimDomains: config.dkimDomains } : {}),
    ...(config.dkimAutoSign ? { dkimAutoSign: config.dkimAutoSign } : {}),
    ...(config.maildir ? { maildir: config.maildir } : {}),
    close: () => datasources.forEach((d) => d.close?.()),
  };
}

/**
 * The sizes of the file system that holds `dir`, or would hold it: a spool
 * not made yet (a dry run, a server before its first message) is on its
 * nearest existing parent's.
 */
async function fileSystemOf(dir: string): Promise<{ total: number; free: number; available: number }> {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      const s = await statfs(at);
      return { total: s.blocks * s.bsize, free: s.bfree * s.bsize, available: s.bavail * s.bsize };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(at) === at) throw e;
    }
  }
}
