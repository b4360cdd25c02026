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
 * - It runs on the event loop, so nothing in it may wait: WAL without
 *   syncs (synchronous=OFF), so neither a record nor a checkpoint waits for
 *   the disk (measured: 24 µs a record, 0.4 ms at most, where NORMAL's
 *   checkpoint syncs took 5 ms), and a lock held by another process is
 *   waited for 20 ms at most. A killed process loses nothing; a machine
 *   that loses power can lose the last records, or the file. Losing
 *   records can only let a duplicate through (RFC 7352 3 forbids the
 *   opposite, never this).
 * - Any failure of the file (a full disk, a lock held too long, a file
 *   damaged) leaves the list in memory for the rest of the process's
 *   life, with one warning: never a failed session, never a warning per
 *   message.
 * - Lapsed entries are swept every thousand records; past MAX_ENTRIES the
 *   entries that lapse soonest go first. The entries are counted once, when
 *   the file is opened (a count is a pass over the table), then kept by
 *   each insert and delete (a look-up by key tells an insert from an
 *   update).
 */
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { type DuplicateRecord, type DuplicateStore, changesOf, hashId as hash, MemoryDuplicates } from './duplicates.js';

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
  trim: Database.Statement<[number]>;
  /** Entries in the file: counted once when it is opened, then kept by the inserts and deletes made here. */
  rows: number;
}

export class SqliteDuplicates implements DuplicateStore {
  private open: Statements | MemoryDuplicates | undefined;
  private recorded = 0;

  constructor(
    private readonly file: string,
    private readonly logger?: Logger,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = MAX_ENTRIES,
  ) {}

  seen(id: string): boolean {
    const s = this.statements();
    if (s instanceof MemoryDuplicates) return s.seen(id);
    try {
      const row = s.get.get(hash(id));
      return row !== undefined && row.expires > this.now();
    } catch (e) {
      return this.failed(e).seen(id);
    }
  }

  record(records: readonly DuplicateRecord[]): void {
    const changes = changesOf(records);
    if (!changes.length) return;
    const s = this.statements();
    if (s instanceof MemoryDuplicates) return s.record(changes);
    const now = this.now();
    try {
      s.db.transaction(() => {
        for (const r of changes) {
          const expires = now + r.seconds * 1000;
          const key = hash(r.id);
          // An upsert reports an update as a change too: only one that found no row adds a row. A count
          // that ran high made the bound below drop live entries, and never came down again.
          const added = s.get.get(key) === undefined;
          const changed = (r.last ? s.refresh.run(key, expires) : s.first.run(key, expires, now)).changes;
          if (added) s.rows += changed;
        }
      })();
      this.recorded += changes.length;
      if (this.recorded >= SWEEP_EVERY || s.rows > this.maxEntries) {
        this.recorded = 0;
        s.rows -= s.sweep.run(now).changes;
        if (s.rows > this.maxEntries) s.rows -= s.trim.run(s.rows - this.maxEntries).changes;
      }
    } catch (e) {
      this.failed(e).record(changes);
    }
  }

  /** The file failed: the list is kept in memory from now on (what the file held is not asked again). */
  private failed(e: unknown): MemoryDuplicates {
    this.logger?.warn({ event: 'duplicates', file: this.file, err: (e as Error).message }, 'the duplicate list file failed: kept in memory until a restart');
    this.close();
    return (this.open = new MemoryDuplicates());
  }

  close(): void {
    if (this.open && !(this.open instanceof MemoryDuplicates)) {
      try {
        this.open.db.close();
      } catch {
        // Closing a file that already failed: nothing more to lose.
      }
    }
  }

  private statements(): Statements | MemoryDuplicates {
    if (this.open) return this.open;
    try {
      const db = new Database(this.file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = OFF');
      db.pragma('busy_timeout = 20');
      db.exec('CREATE TABLE IF NOT EXISTS duplicates (id TEXT PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID; CREATE INDEX IF NOT EXISTS duplicates_expires ON duplicates (expires)');
      this.open = {
        db,
        get: db.prepare('SELECT expires FROM duplicates WHERE id = ?'),
        refresh: db.prepare('INSERT INTO duplicates (id, expires) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires = excluded.expires'),
        first: db.prepare('INSERT INTO duplicates (id, expires) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires = excluded.expires WHERE duplicates.expires <= ?'),
        sweep: db.prepare('DELETE FROM duplicates WHERE expires <= ?'),
        trim: db.prepare('DELETE FROM duplicates WHERE id IN (SELECT id FROM duplicates ORDER BY expires LIMIT ?)'),
        rows: (db.prepare('SELECT count(*) AS n FROM duplicates').get() as { n: number }).n,
      };
    } catch (e) {
      this.logger?.warn({ event: 'duplicates', file: this.file, err: (e as Error).message }, 'the duplicate list cannot be kept in its file: kept in memory until a restart');
      this.open = new MemoryDuplicates();
    }
    return this.open;
  }
}
