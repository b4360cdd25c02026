/**
 * The SQLite datasource driver (3-reference-modules-ds-core.md, "SQLite"):
 * `uri = ( "sqlite:/path/to/db" )`. Queries take `?` and `:name`
 * parameters. The database is opened read-write (ds_execute writes), once,
 * when the datasource is first used, in a thread of its own
 * (sqlite-thread.ts), which runs the queries one at a time in the order
 * they were asked, as one connection does.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Datasource, QueryParams, Row } from '../datasource.js';
import { type SqliteAnswer, type SqliteRequest, type SqliteThreadData, sqliteThread } from './sqlite-thread.js';

/** better-sqlite3 takes `?` values as arguments and `:name` values as one object. */
const bind = (p: QueryParams): unknown[] => (Array.isArray(p) ? [...p] : [p]);

/** One thread and the queries waiting for its answers. */
interface Thread {
  worker: Worker;
  waiting: Map<number, { resolve: (rows: Row[]) => void; reject: (e: Error) => void }>;
}

export class SqliteDatasource implements Datasource {
  private thread: Thread | undefined;
  private nextId = 0;

  constructor(
    private readonly file: string,
    /** Open the database read-only (the dry run reads a policy's data and never changes it). */
    private readonly readOnly = false,
  ) {}

  query(query: string, params: QueryParams, limit?: number): Promise<Row[]> {
    const { worker, waiting } = (this.thread ??= this.start());
    const id = this.nextId++;
    // The thread keeps the process alive only while a script waits for it.
    if (waiting.size === 0) worker.ref();
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, query, params: bind(params), limit } satisfies SqliteRequest);
    });
  }

  private start(): Thread {
    const data: SqliteThreadData = { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file: this.file, readOnly: this.readOnly };
    const worker = new Worker(`(${sqliteThread.toString()})()`, { eval: true, name: 'sqlite-datasource', workerData: data });
    const thread: Thread = { worker, waiting: new Map() };
    worker.on('message', (a: SqliteAnswer) => {
      const w = thread.waiting.get(a.id);
      if (!w) return;
      thread.waiting.delete(a.id);
      if (thread.waiting.size === 0) worker.unref();
      if ('error' in a) w.reject(new Error(a.error));
      else w.resolve(a.rows);
    });
    // A thread that died fails what it held; the next query starts another.
    const ended = (e: Error) => {
      if (this.thread === thread) this.thread = undefined;
      for (const w of thread.waiting.values()) w.reject(e);
      thread.waiting.clear();
    };
    worker.on('error', ended);
    worker.on('exit', (code) => ended(new Error(`the SQLite thread for ${this.file} ended (exit code ${code})`)));
    worker.unref();
    return thread;
  }

  close(): void {
    // Queries already asked are answered first: the thread takes its messages in order.
    this.thread?.worker.postMessage({ close: true } satisfies SqliteRequest);
    this.thread = undefined;
  }
}
