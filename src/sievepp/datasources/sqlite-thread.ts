/**
 * The SQLite datasource's thread: it opens the database with
 * better-sqlite3 and answers queries one at a time. better-sqlite3 is
 * synchronous by design, so on the event loop a query held every session
 * for as long as it ran, or waited for another process's lock (its busy
 * timeout, 5 s by default); here only the scripts that asked wait
 * (docs/server.md, "The spool").
 *
 * This function's source text is the thread's whole program (run with
 * `eval`, so that it works the same from tsc's output, the bundled CLI and
 * the tests): it may use nothing from outside itself but Node's built-in
 * modules, through process.getBuiltinModule, and its workerData, which
 * names better-sqlite3's entry point as the main thread resolved it.
 */

/** What the thread is started with. */
export interface SqliteThreadData {
  /** better-sqlite3's entry point, resolved by the main thread (the thread has no module path of its own). */
  driver: string;
  /** The database file, which must exist. */
  file: string;
  /** Opened read-only (the dry run): a statement that writes fails with SQLite's message. */
  readOnly: boolean;
}

/** A query, or the request to close the database and end. */
export type SqliteRequest = { id: number; query: string; params: unknown[]; limit: number | undefined } | { close: true };

export type SqliteAnswer = { id: number; rows: Array<Record<string, string>> } | { id: number; error: string };

export function sqliteThread(): void {
  const { createRequire } = process.getBuiltinModule('node:module');
  const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
  const { driver, file, readOnly } = workerData as SqliteThreadData;
  const port = parentPort!;
  type Db = { prepare(q: string): { reader: boolean; run(...a: unknown[]): unknown; iterate(...a: unknown[]): Iterable<Record<string, unknown>> }; close(): void };
  let db: Db | undefined;

  port.on('message', (request: SqliteRequest) => {
    if ('close' in request) {
      db?.close();
      port.close();
      return;
    }
    const { id, query, params, limit } = request;
    try {
      if (!db) {
        const Database = createRequire(driver)(driver) as new (file: string, options: object) => Db;
        db = new Database(file, { fileMustExist: true, readonly: readOnly });
      }
      const stmt = db.prepare(query);
      const rows: Array<Record<string, string>> = [];
      if (!stmt.reader) stmt.run(...params);
      else
        for (const r of stmt.iterate(...params)) {
          const row: Record<string, string> = {};
          for (const k in r) row[k] = r[k] === null || r[k] === undefined ? '' : String(r[k]);
          rows.push(row);
          if (limit !== undefined && rows.length >= limit) break;
        }
      port.postMessage({ id, rows } satisfies SqliteAnswer);
    } catch (e) {
      port.postMessage({ id, error: e instanceof Error ? e.message : String(e) } satisfies SqliteAnswer);
    }
  });
}
