/**
 * Momentum datasources (3-reference-modules-ds-core.md): named query back
 * ends that ds_fetch and friends ask. A Datasource answers a query (with
 * `?` placeholders bound to the parameters) with rows of named columns.
 * The drivers are in datasources/; CachedDatasource adds Momentum's result
 * cache (cache_size entries for cache_life seconds, none with no_cache), in
 * front of every driver as ds_core has it ("The datasource layer is
 * designed to cache query results").
 */
import { LruMap } from '../lru-map.js';

export type Row = Readonly<Record<string, string>> & { readonly [VALUES]?: Readonly<Record<string, readonly string[]>> };

/**
 * Every value of a row's columns that hold several (an LDAP attribute's,
 * datasources/ldap.ts), in the order the datasource returned them, by
 * column name. The string under the column's name is the first of them:
 * what ds_fetch and ds_fetch_flat give, while ds_fetch_hash gives the list
 * ("If the datasource can provide multiple values for a column, then the
 * value will be a stringlist containing each possible value for that
 * column, in the order that they were returned", sieve-ref-ds-fetch-hash.md).
 * A symbol, so that whatever reads a row's string columns (Object.values,
 * for...in, a cache key) reads one string a column, as for every other
 * driver, whose rows have none.
 */
export const VALUES: unique symbol = Symbol('every value of a column');

/** `?` parameters as a list, `:name` parameters as a map of names to values (sieve-ref-ds-fetch.md). */
export type QueryParams = readonly string[] | Readonly<Record<string, string>>;

export interface Datasource {
  /** The rows a query gives, at most `limit`; a failure is thrown (the caller makes it a runtime error). */
  query(query: string, params: QueryParams, limit?: number): Row[] | Promise<Row[]>;
  close?(): void;
  /** Whether `query` only reads, so that its result may be cached; without it, a query that starts with SELECT. */
  reads?(query: string): boolean;
  /**
   * For a driver whose data can change while a result is cached (the csv:
   * driver's file, read again when it changes): the version of the data
   * `query` reads now. A cached result is used only while the version it
   * was made from is the current one, so that the cache never answers with
   * rows of an older file than the driver would (docs/configuration.md,
   * "Datasource"). Without it a result lives its cache_life. `params`
   * are the query's: a driver whose `$name` parameters name the file
   * (iowrapper:) needs them to know which.
   */
  versionOf?(query: string, params: QueryParams): Promise<DataVersion>;
}

/** What a result was made from: a source (a file) and its version; results of the source with another version are stale. */
export interface DataVersion {
  source: string;
  version: string;
}

/** The configured datasources by name. */
export type Datasources = ReadonlyMap<string, Datasource>;

export interface CacheSettings {
  /** Entries kept (Momentum's cache_size, default 1000). */
  size: number;
  /** Seconds an entry lives (cache_life, default 3600); 0 caches nothing (no_cache). */
  lifeSeconds: number;
  /** Rows one query returns at most (max_rows, default 100; -1 for all). */
  maxRows: number;
}

export const DEFAULT_CACHE: Readonly<CacheSettings> = { size: 1000, lifeSeconds: 3600, maxRows: 100 };

/** A cached result and the version of the data it was made from (none for a driver without versionOf). */
interface Entry {
  at: number;
  rows: Row[];
  made?: DataVersion;
}

const SELECT = /^\s*select\b/i;

/** A datasource with Momentum's result cache in front: the least recently used entry goes first (src/lru-map.ts: a query asked for every message moves nothing). */
export class CachedDatasource implements Datasource {
  private readonly cache: LruMap<string, Entry>;
  /** Queries answered from the cache, and by the driver (for tests and ds_core's "stats"). */
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly inner: Datasource,
    private readonly settings: CacheSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.cache = new LruMap(settings.size);
  }

  async query(query: string, params: QueryParams, limit?: number): Promise<Row[]> {
    const max = this.settings.maxRows < 0 ? limit : Math.min(limit ?? Infinity, this.settings.maxRows);
    const cacheable = this.settings.lifeSeconds > 0 && (this.inner.reads ? this.inner.reads(query) : SELECT.test(query));
    if (!cacheable) return this.ask(query, params, max);
    const key = JSON.stringify([query, params, max ?? null]);
    // Taken before the driver reads: a result is never filed under a version newer than its data.
    const current = await this.currentVersion(query, params);
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < this.settings.lifeSeconds * 1000 && sameVersion(hit.made, current)) {
      this.stats.hits++;
      return hit.rows;
    }
    if (current) this.dropOtherVersions(current);
    const rows = await this.ask(query, params, max);
    this.cache.set(key, current ? { at: this.now(), rows, made: current } : { at: this.now(), rows });
    return rows;
  }

  /** Results kept now. */
  get size(): number {
    return this.cache.size;
  }

  private ask(query: string, params: QueryParams, max: number | undefined): Row[] | Promise<Row[]> {
    this.stats.misses++;
    return this.inner.query(query, params, max === Infinity ? undefined : max);
  }

  /** The data's version, if the driver has versions; a driver that cannot tell it (a file that is gone) fails in its query. */
  private async currentVersion(query: string, params: QueryParams): Promise<DataVersion | undefined> {
    if (!this.inner.versionOf) return undefined;
    try {
      return await this.inner.versionOf(query, params);
    } catch {
      return undefined;
    }
  }

  /**
   * The source changed: its results from other versions go at once, not
   * when their queries come again or cache_life ends, which would keep an
   * old file's rows (megabytes, with max_rows = -1) for up to an hour.
   */
  private dropOtherVersions(current: DataVersion): void {
    for (const [key, e] of this.cache.entries()) {
      if (e.made && e.made.source === current.source && e.made.version !== current.version) this.cache.delete(key);
    }
  }

  close(): void {
    this.inner.close?.();
  }
}

function sameVersion(made: DataVersion | undefined, current: DataVersion | undefined): boolean {
  return made === undefined ? current === undefined : current !== undefined && made.version === current.version;
}
