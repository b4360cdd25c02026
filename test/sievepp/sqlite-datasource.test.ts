/**
 * The sqlite: datasource driver runs its queries in a thread of its own
 * (src/sievepp/datasources/sqlite.ts), so a query that waits or runs long
 * holds only the scripts that asked it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteDatasource } from '../../src/sievepp/datasources/sqlite.js';

describe('the sqlite: datasource', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'smtp-cbv-sqlite-'));
    file = path.join(dir, 'policy.db');
    const db = new Database(file);
    db.exec(`create table senders (sender text, allow integer, note text);
      insert into senders values ('joe@example.com', 1, null), ('ann@example.com', 0, 'x');`);
    db.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lets the event loop run while a query waits for another connection’s lock', async () => {
    const lock = new Database(file);
    lock.exec('BEGIN EXCLUSIVE');
    const ds = new SqliteDatasource(file);
    try {
      let answered = false;
      const rows = ds.query('select allow from senders where sender = ?', ['joe@example.com']).then((r) => ((answered = true), r));
      // On the event loop, the query would hold this thread until the lock's busy timeout (5 s) and fail.
      for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 10));
      expect(answered).toBe(false);
      lock.exec('ROLLBACK');
      expect(await rows).toEqual([{ allow: '1' }]);
    } finally {
      lock.close();
      ds.close();
    }
  });

  it('binds ? and :name parameters, gives NULL as an empty string, and stops at the limit', async () => {
    const ds = new SqliteDatasource(file);
    try {
      expect(await ds.query('select note from senders where sender = :s', { s: 'joe@example.com' })).toEqual([{ note: '' }]);
      expect(await ds.query('select sender from senders order by sender', [], 1)).toEqual([{ sender: 'ann@example.com' }]);
      expect(await ds.query('select sender from senders where allow = ?', ['0'])).toEqual([{ sender: 'ann@example.com' }]);
    } finally {
      ds.close();
    }
  });

  it('writes with a statement that returns nothing, in the order the queries were asked', async () => {
    const ds = new SqliteDatasource(file);
    try {
      const [written, read] = await Promise.all([
        ds.query('insert into senders values (?, ?, ?)', ['eve@example.com', '0', 'late']),
        ds.query('select note from senders where sender = ?', ['eve@example.com']),
      ]);
      expect(written).toEqual([]);
      expect(read).toEqual([{ note: 'late' }]);
      const other = new Database(file, { readonly: true });
      expect(other.prepare('select count(*) as n from senders where sender = ?').get('eve@example.com')).toEqual({ n: 1 });
      other.close();
    } finally {
      ds.close();
    }
  });

  it('fails a bad query with SQLite’s message and answers the next one', async () => {
    const ds = new SqliteDatasource(file);
    try {
      await expect(ds.query('select x from nowhere', [])).rejects.toThrow(/no such table: nowhere/);
      expect(await ds.query('select count(*) as n from senders where allow = 1', [])).toEqual([{ n: '1' }]);
    } finally {
      ds.close();
    }
  });

  it('fails a query for a database file that does not exist', async () => {
    const ds = new SqliteDatasource(path.join(dir, 'absent.db'));
    try {
      await expect(ds.query('select 1', [])).rejects.toThrow(/unable to open|does not exist/i);
    } finally {
      ds.close();
    }
  });

  it('answers queries asked before close, and a query after close opens the database again', async () => {
    const ds = new SqliteDatasource(file);
    const before = ds.query('select sender from senders where sender = ?', ['joe@example.com']);
    ds.close();
    expect(await before).toEqual([{ sender: 'joe@example.com' }]);
    expect(await ds.query('select allow from senders where sender = ?', ['ann@example.com'])).toEqual([{ allow: '0' }]);
    ds.close();
  });
});
