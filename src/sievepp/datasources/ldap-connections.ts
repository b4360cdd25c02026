/**
 * ds_ldap's connection cache (4/modules/ds-core.md, "LDAP"): "LDAP
 * connections are cached and re-used for subsequent queries with the same
 * hostname, port and bind parameters", with two options of its own:
 * `connection_cache_size`, "Maximum number of connections to store in the
 * cache. Once this limit is reached, the creation of a new connection will
 * cause an existing connection to be closed", the least recently used; and
 * `connection_cache_life`, "Maximum age of a connection in the cache, after
 * which the connection is closed (and re-opened, if necessary)", its age
 * counted from when it was opened, not from its last use.
 *
 * A connection leaves the cache when it is too old, pushed out, found
 * closed by the server, or failed; it is closed when the last query using
 * it is done, never under a search still waiting for its answer.
 */

export interface ConnectionCacheSettings {
  /** Connections kept at once; 0 keeps none (each query opens its own). */
  size: number;
  /** Seconds a connection is kept after it was opened; null, for as long as it serves. */
  lifeSeconds: number | null;
}

/** What the cache needs of a connection: whether it is still open, and how to close it. */
export interface Connections<C> {
  alive(c: C): boolean;
  close(c: C): Promise<void>;
}

/** One use of a connection: `release` when the query is done, saying whether the connection failed. */
export interface Lease<C> {
  connection: C;
  release(failed: boolean): void;
}

interface Entry<C> {
  key: string;
  connection: Promise<C>;
  users: number;
  /** Out of the cache: closed when its last user is done. */
  retired: boolean;
  closed: boolean;
  timer?: NodeJS.Timeout;
}

export class ConnectionCache<C> {
  /** By key, the least recently used first. */
  private readonly entries = new Map<string, Entry<C>>();

  constructor(
    private readonly settings: ConnectionCacheSettings,
    private readonly connections: Connections<C>,
  ) {}

  /** Connections kept now (for tests and ds_ldap's "show connection cache stats"). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * A connection for `key`: the cached one while it is open and young
   * enough, else one `open` makes, which the cache keeps unless `cached` is
   * false (x-disable-connection-cache) or it keeps none: then it is the
   * query's own, closed when the query is done.
   */
  async lease(key: string, open: () => Promise<C>, cached = true): Promise<Lease<C>> {
    if (!cached || this.settings.size <= 0) {
      const own = await open();
      return { connection: own, release: () => void this.connections.close(own).catch(() => undefined) };
    }
    for (;;) {
      let e = this.entries.get(key);
      const fresh = !e;
      if (e) {
        this.entries.delete(key);
        this.entries.set(key, e);
      } else e = this.entry(key, open);
      e.users++;
      let c: C;
      try {
        c = await e.connection;
      } catch (err) {
        this.release(e, true);
        throw err;
      }
      // One the server closed meanwhile (an idle timeout) is opened and bound again, by the next turn;
      // one just opened is used as it is, so that a server that closes at once cannot keep this turning.
      if (fresh || this.connections.alive(c)) return this.leaseOf(e, c);
      this.release(e, true);
    }
  }

  /** Every connection out of the cache, each closed when its query is done. */
  close(): void {
    for (const e of [...this.entries.values()]) this.retire(e);
  }

  private entry(key: string, open: () => Promise<C>): Entry<C> {
    const e: Entry<C> = { key, connection: open(), users: 0, retired: false, closed: false };
    // A connection that could not be made or bound is not kept.
    e.connection.catch(() => this.retire(e));
    this.entries.set(key, e);
    if (this.settings.lifeSeconds !== null) {
      e.timer = setTimeout(() => this.retire(e), this.settings.lifeSeconds * 1000);
      e.timer.unref();
    }
    for (const [, oldest] of this.entries) {
      if (this.entries.size <= this.settings.size) break;
      if (oldest !== e) this.retire(oldest);
    }
    return e;
  }

  private leaseOf(e: Entry<C>, c: C): Lease<C> {
    let released = false;
    return {
      connection: c,
      release: (failed) => {
        if (released) return;
        released = true;
        this.release(e, failed);
      },
    };
  }

  private release(e: Entry<C>, failed: boolean): void {
    e.users--;
    if (failed) this.retire(e);
    else if (e.retired) this.closeIfIdle(e);
  }

  private retire(e: Entry<C>): void {
    if (this.entries.get(e.key) === e) this.entries.delete(e.key);
    clearTimeout(e.timer);
    e.retired = true;
    this.closeIfIdle(e);
  }

  private closeIfIdle(e: Entry<C>): void {
    if (e.users > 0 || e.closed) return;
    e.closed = true;
    e.connection.then((c) => this.connections.close(c)).catch(() => undefined);
  }
}
