/**
 * RFC 7352's duplicate-tracking list in a SQLite file,
 * `<spool_dir>/duplicates.sqlite` (docs/sieve-reference.md, "duplicate"), so
 * that it survives a restart as Pigeonhole's does: a message that comes
 * again after the server restarted is still a duplicate. Used by a process
 * without Redis, and by the primary of cluster workers.
 *
 * - The file is opened on first use: a policy without `duplicate` never
 *   creates it. When it cannot be opened, the list is kept in memory and
 *   the log says why once.
 * - Ids are stored hashed (SHA-256): an id is whatever a header held.
 * - WAL with synchronous=NORMAL: a record costs no fsync of its own, and a
 *   crash can lose the last records, which can only let a duplicate through
 *   (RFC 7352 3 forbids the opposite, never this).
 * - Lapsed entries are swept every thousand records; past MAX_ENTRIES the
 *   entries that lapse soonest go first.
 */
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { type DuplicateRecord, type DuplicateStore, hashId as hash, MemoryDuplicates } from './duplicates.js';

const MAX_ENTRIES = 1_000_000;
const SWEEP_EVERY = 1000;

interface Statements {
  db: Database.Database;
  get: Database.Statement<[string], { expires: number }>;
  /** :last: the period starts again. */
  refresh: Database.Statement<[string, number]>;
  /** A new id: recorded unless another session recorded it first and its period still runs. */
  first: Database.Statement<[string, number, number]>;
  sweep: Database.Statement<[number]>;
  count: Database.Statement<[], { n: number }>;
  trim: Database.Statement<[number]>;
}

export class SqliteDuplicates implements DuplicateStore {
  private open: Statements | MemoryDuplicates | undefined;
  private recorded = 0;

  constructor(
    private readonly file: string,
    private readonly logger?: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  seen(id: string): boolean {
    const s = this.statements();
    if (s instanceof MemoryDuplicates) return s.seen(id);
    try {
      const row = s.get.get(hash(id));
      return row !== undefined && row.expires > this.now();
    } catch (e) {
      // A file that fails a read answers "not seen": that can only let a duplicate through, never fail a session.
      this.logger?.warn({ event: 'duplicates', file: this.file, err: (e as Error).message }, 'reading the duplicate list failed');
      return false;
    }
  }

  record(records: readonly DuplicateRecord[]): void {
    // A duplicate tested without :last changes nothing (RFC 7352 3.3).
    const changes = records.filter((r) => r.last || !r.duplicate);
    if (!changes.length) return;
    const s = this.statements();
    if (s instanceof MemoryDuplicates) return s.record(changes);
    const now = this.now();
    try {
      s.db.transaction(() => {
        for (const r of changes) {
          const expires = now + r.seconds * 1000;
          if (r.last) s.refresh.run(hash(r.id), expires);
          else s.first.run(hash(r.id), expires, now);
        }
      })();
      this.recorded += changes.length;
      if (this.recorded >= SWEEP_EVERY) {
        this.recorded = 0;
        s.sweep.run(now);
        const over = s.count.get()!.n - MAX_ENTRIES;
        if (over > 0) s.trim.run(over);
      }
    } catch (e) {
      // A full disk, another process holding the file too long: those ids are not recorded, which can only let a duplicate through.
      this.logger?.warn({ event: 'duplicates', file: this.file, err: (e as Error).message }, 'recording duplicate ids failed');
    }
  }

  close(): void {
    if (this.open && !(this.open instanceof MemoryDuplicates)) this.open.db.close();
  }

  private statements(): Statements | MemoryDuplicates {
    if (this.open) return this.open;
    try {
      const db = new Database(this.file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 100');
      db.exec('CREATE TABLE IF NOT EXISTS duplicates (id TEXT PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID; CREATE INDEX IF NOT EXISTS duplicates_expires ON duplicates (expires)');
      this.open = {
        db,
        get: db.prepare('SELECT expires FROM duplicates WHERE id = ?'),
        refresh: db.prepare('INSERT INTO duplicates (id, expires) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires = excluded.expires'),
        first: db.prepare('INSERT INTO duplicates (id, expires) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires = excluded.expires WHERE duplicates.expires <= ?'),
        sweep: db.prepare('DELETE FROM duplicates WHERE expires <= ?'),
        count: db.prepare('SELECT count(*) AS n FROM duplicates'),
        trim: db.prepare('DELETE FROM duplicates WHERE id IN (SELECT id FROM duplicates ORDER BY expires LIMIT ?)'),
      };
    } catch (e) {
      this.logger?.warn({ event: 'duplicates', file: this.file, err: (e as Error).message }, 'the duplicate list cannot be kept in its file: kept in memory until a restart');
      this.open = new MemoryDuplicates();
    }
    return this.open;
  }
}
