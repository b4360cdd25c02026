/**
 * Momentum datasources (3-reference-modules-ds-core.md): named query back
 * ends that ds_fetch and friends ask. A Datasource answers a query (with
 * `?` placeholders bound to the parameters) with rows of named columns.
 * The drivers are in datasources/; CachedDatasource adds Momentum's result
 * cache (cache_size entries for cache_life seconds, none with no_cache).
 */
export type Row = Readonly<Record<string, string>>;

/** `?` parameters as a list, `:name` parameters as a map of names to values (sieve-ref-ds-fetch.md). */
export type QueryParams = readonly string[] | Readonly<Record<string, string>>;

export interface Datasource {
  /** The rows a query gives, at most `limit`; a failure is thrown (the caller makes it a runtime error). */
  query(query: string, params: QueryParams, limit?: number): Row[] | Promise<Row[]>;
  close?(): void;
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

/** A datasource with Momentum's result cache in front: the least recently used entry goes first. */
export class CachedDatasource implements Datasource {
  private readonly cache = new Map<string, { at: number; rows: Row[] }>();

  constructor(
    private readonly inner: Datasource,
    private readonly settings: CacheSettings,
    private readonly now: () => number = Date.now,
  ) {}

  async query(query: string, params: QueryParams, limit?: number): Promise<Row[]> {
    const max = this.settings.maxRows < 0 ? limit : Math.min(limit ?? Infinity, this.settings.maxRows);
    const cacheable = this.settings.lifeSeconds > 0 && /^\s*select\b/i.test(query);
    const key = JSON.stringify([query, params, max ?? null]);
    const hit = cacheable ? this.cache.get(key) : undefined;
    if (hit && this.now() - hit.at < this.settings.lifeSeconds * 1000) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit.rows;
    }
    const rows = await this.inner.query(query, params, max === Infinity ? undefined : max);
    if (cacheable) {
      this.cache.delete(key);
      this.cache.set(key, { at: this.now(), rows });
      if (this.cache.size > this.settings.size) this.cache.delete(this.cache.keys().next().value!);
    }
    return rows;
  }

  close(): void {
    this.inner.close?.();
  }
}
