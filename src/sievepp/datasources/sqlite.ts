/**
 * The SQLite datasource driver (3-reference-modules-ds-core.md, "SQLite"):
 * `uri = ( "sqlite:/path/to/db" )`. Queries take `?` and `:name`
 * parameters. The database is opened read-write (ds_execute writes), once,
 * when the datasource is first used.
 */
import Database from 'better-sqlite3';
import type { Datasource, QueryParams, Row } from '../datasource.js';

/** better-sqlite3 takes `?` values as arguments and `:name` values as one object. */
const bind = (p: QueryParams): unknown[] => (Array.isArray(p) ? [...p] : [p]);

export class SqliteDatasource implements Datasource {
  private db: Database.Database | undefined;

  constructor(private readonly file: string) {}

  private open(): Database.Database {
    return (this.db ??= new Database(this.file, { fileMustExist: true }));
  }

  query(query: string, params: QueryParams, limit?: number): Row[] {
    const stmt = this.open().prepare(query);
    if (!stmt.reader) {
      stmt.run(...bind(params));
      return [];
    }
    const rows: Row[] = [];
    for (const r of stmt.iterate(...bind(params)) as Iterable<Record<string, unknown>>) {
      rows.push(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)])));
      if (limit !== undefined && rows.length >= limit) break;
    }
    return rows;
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}
