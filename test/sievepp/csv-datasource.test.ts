/**
 * The csv: datasource driver reads its file off the event loop, parses it
 * in slices between which other sessions run, and once per version of the
 * file (src/sievepp/datasources/csv.ts).
 */
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachedDatasource, DEFAULT_CACHE, type Row } from '../../src/sievepp/datasource.js';
import { CsvDatasource } from '../../src/sievepp/datasources/csv.js';

describe('the csv: datasource', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'smtp-cbv-csv-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const values = async (ds: CsvDatasource, query: string) => (await ds.query(query, [])).map((r) => Object.values(r));

  it('reads a file that is not valid UTF-8 as ISO-8859-1, as Momentum assumes, and one that is as UTF-8', async () => {
    writeFileSync(path.join(dir, 'latin1.csv'), Buffer.from('jos\xe9@ex.test,caf\xe9\n', 'latin1'));
    writeFileSync(path.join(dir, 'utf8.csv'), 'josé@ex.test,café\n');
    const ds = new CsvDatasource(dir);
    expect(await values(ds, 'latin1.csv')).toEqual([['josé@ex.test', 'café']]);
    expect(await values(ds, 'utf8.csv')).toEqual([['josé@ex.test', 'café']]);
  });

  it('reads every file in the assume_charset given, even one that is also valid UTF-8 (ISO-2022-JP is 7-bit)', async () => {
    // 日本 in ISO-2022-JP: JIS X 0208 between ESC $ B and ESC ( B.
    writeFileSync(path.join(dir, 'jis.csv'), Buffer.from('a,\x1b$BF|K\\\x1b(B\n', 'latin1'));
    expect(await values(new CsvDatasource(dir, undefined, { assumeCharset: 'iso-2022-jp' }), 'jis.csv')).toEqual([['a', '日本']]);
    expect(await values(new CsvDatasource(dir), 'jis.csv')).toEqual([['a', '\x1b$BF|K\\\x1b(B']]);
  });

  it('reads the file after the query returns, not in the caller’s turn of the event loop', async () => {
    const file = path.join(dir, 'later.csv');
    writeFileSync(file, 'old,1\n');
    const ds = new CsvDatasource(dir);
    const pending = ds.query('later.csv?cols=2', []);
    // Replaced before the query's first wait is over: a read made synchronously by the call would have the old row.
    writeFileSync(file, 'new,2\nnewer,3\n');
    expect((await pending).map((r) => Object.values(r))).toEqual([
      ['new', '2'],
      ['newer', '3'],
    ]);
  });

  it('parses a file once while its inode, size and modification time stay the same', async () => {
    const file = path.join(dir, 'kept.csv');
    // Whole seconds, which utimes(2) sets exactly.
    const then = 1_700_000_000;
    writeFileSync(file, 'a,1\n');
    utimesSync(file, then, then);
    const ds = new CsvDatasource(dir);
    expect(await values(ds, 'kept.csv')).toEqual([['a', '1']]);
    // Rewritten in place with the same size and its old modification time: not read again.
    writeFileSync(file, 'b,2\n');
    utimesSync(file, then, then);
    expect(await values(ds, 'kept.csv')).toEqual([['a', '1']]);
    // A new size is a new version.
    writeFileSync(file, 'c,33\n');
    expect(await values(ds, 'kept.csv')).toEqual([['c', '33']]);
  });

  it('reads a file replaced by rename again, even with the same size and time', async () => {
    const file = path.join(dir, 'swapped.csv');
    const then = 1_700_000_000;
    writeFileSync(file, 'a,1\n');
    utimesSync(file, then, then);
    const ds = new CsvDatasource(dir);
    expect(await values(ds, 'swapped.csv')).toEqual([['a', '1']]);
    const next = path.join(dir, 'swapped.csv.new');
    writeFileSync(next, 'b,2\n');
    utimesSync(next, then, then);
    renameSync(next, file);
    expect(await values(ds, 'swapped.csv')).toEqual([['b', '2']]);
  });

  it('fails a query for a missing file, and answers once the file is there', async () => {
    const ds = new CsvDatasource(dir);
    await expect(ds.query('absent.csv', [])).rejects.toThrow(/ENOENT/);
    writeFileSync(path.join(dir, 'absent.csv'), 'x\n');
    expect(await values(ds, 'absent.csv')).toEqual([['x']]);
  });

  it('answers queries made side by side from one read, each with its own columns and limit', async () => {
    writeFileSync(path.join(dir, 'wide.csv'), 'a,1,x\nb,2,y\n');
    const ds = new CsvDatasource(dir);
    const [all, two, first] = await Promise.all([ds.query('wide.csv', []), ds.query('wide.csv?cols=2', []), ds.query('wide.csv', [], 1)]);
    expect(all.map((r) => Object.values(r))).toEqual([
      ['a', '1', 'x'],
      ['b', '2', 'y'],
    ]);
    expect(two.map((r) => Object.values(r))).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    expect(first.map((r) => Object.values(r))).toEqual([['a', '1', 'x']]);
  });

  it('lets another session run while it parses a large file, and parses it once for the queries that wait', async () => {
    const file = path.join(dir, 'large.csv');
    const lines = 100_000;
    writeFileSync(file, Array.from({ length: lines }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24,"listed, ""${i}""\r\nfor spam"\r\n`).join(''));
    // A turn for the event loop after every look at the clock, so that what is asserted is order, whatever the machine's speed.
    const ds = new CsvDatasource(dir, undefined, { sliceMs: 0 });
    const events: string[] = [];
    const first = ds.query('large.csv?cols=1', []).then((rows) => (events.push('first query answered'), rows));
    // Another session: a callback at every turn of the event loop; seeing the parse under way, it asks for the same file.
    let second: Promise<Row[]> | undefined;
    await new Promise<void>((resolve) => {
      const turn = () => {
        if (ds.stats.parsing > 0 && !second) {
          events.push('another session ran during the parse');
          second = ds.query('large.csv', [], 2);
        }
        if (events.includes('first query answered')) resolve();
        else setImmediate(turn);
      };
      setImmediate(turn);
    });
    // With the parse in one step no callback could ever see it under way.
    expect(events).toEqual(['another session ran during the parse', 'first query answered']);
    const rows = await first;
    expect(rows.length).toBe(lines);
    expect(rows[lines - 1]).toEqual({ 1: '10.134.159.0/24' });
    expect(await second).toEqual([
      { 1: '10.0.0.0/24', 2: 'listed, "0"\r\nfor spam' },
      { 1: '10.0.1.0/24', 2: 'listed, "1"\r\nfor spam' },
    ]);
    // The query that came during the parse waited for it: one parse for the version.
    expect(ds.stats).toMatchObject({ parsing: 0, parsed: 1 });
  });

  it('makes the rows of every record once per version and column count, for the queries without a limit', async () => {
    const file = path.join(dir, 'shared.csv');
    writeFileSync(file, 'a,1,x\nb,2,y\nc,3,z\n');
    const ds = new CsvDatasource(dir);
    const all = await ds.query('shared.csv?cols=2', []);
    expect(all).toEqual([
      { 1: 'a', 2: '1' },
      { 1: 'b', 2: '2' },
      { 1: 'c', 2: '3' },
    ]);
    // The same rows again, and the first of them for a query with a limit.
    expect(await ds.query('shared.csv?cols=2', [])).toBe(all);
    const two = await ds.query('shared.csv?cols=2', [], 2);
    expect(two).toEqual(all.slice(0, 2));
    expect(two[0]).toBe(all[0]);
    // Other columns are other rows; a new version of the file, new rows.
    expect((await ds.query('shared.csv', []))[0]).toEqual({ 1: 'a', 2: '1', 3: 'x' });
    writeFileSync(file, 'd,4,w\n');
    expect(await ds.query('shared.csv?cols=2', [])).toEqual([{ 1: 'd', 2: '4' }]);
    expect(ds.stats.parsed).toBe(2);
  });

  describe('behind the result cache (CachedDatasource, as the configuration opens it)', () => {
    const cached = (settings = DEFAULT_CACHE, now?: () => number) => {
      const csv = new CsvDatasource(dir);
      return { csv, ds: new CachedDatasource(csv, settings, now) };
    };

    it('answers a repeated query from the cache: the rows are made once, not at every query', async () => {
      writeFileSync(path.join(dir, 'repeat.csv'), 'a,1\nb,2\n');
      const { csv, ds } = cached();
      const first = await ds.query('repeat.csv?cols=2', [], 1);
      expect(first).toEqual([{ 1: 'a', 2: '1' }]);
      expect(await ds.query('repeat.csv?cols=2', [], 1)).toBe(first);
      expect(await ds.query('repeat.csv?cols=2', [], 1)).toBe(first);
      expect(csv.stats).toEqual({ parsing: 0, parsed: 1, rowsMade: 1 });
      expect(ds.stats).toEqual({ hits: 2, misses: 1 });
      // Another query (other columns) is another entry.
      expect(await ds.query('repeat.csv?cols=1', [], 1)).toEqual([{ 1: 'a' }]);
      expect(csv.stats.rowsMade).toBe(2);
    });

    it('gives the new rows once the file changed, and drops the old version’s results', async () => {
      const file = path.join(dir, 'changing.csv');
      writeFileSync(file, 'a,1\n');
      const { csv, ds } = cached();
      expect(await ds.query('changing.csv', [])).toEqual([{ 1: 'a', 2: '1' }]);
      expect(await ds.query('changing.csv?cols=1', [])).toEqual([{ 1: 'a' }]);
      expect(ds.size).toBe(2);
      // Replaced by rename with the same size and time: only the inode tells.
      const then = 1_700_000_000;
      utimesSync(file, then, then);
      const next = `${file}.new`;
      writeFileSync(next, 'b,2\n');
      utimesSync(next, then, then);
      renameSync(next, file);
      expect(await ds.query('changing.csv', [])).toEqual([{ 1: 'b', 2: '2' }]);
      // The other query's result was of the old file: gone with it, not kept for its cache_life.
      expect(ds.size).toBe(1);
      expect(await ds.query('changing.csv?cols=1', [])).toEqual([{ 1: 'b' }]);
      expect(csv.stats.parsed).toBe(2);
      expect(await ds.query('changing.csv', [])).toEqual([{ 1: 'b', 2: '2' }]);
      expect(ds.stats.hits).toBe(1);
    });

    it('fails a query for a file that is gone, without answering from the cache', async () => {
      const file = path.join(dir, 'gone.csv');
      writeFileSync(file, 'a\n');
      const { ds } = cached();
      expect(await ds.query('gone.csv', [])).toEqual([{ 1: 'a' }]);
      rmSync(file);
      await expect(ds.query('gone.csv', [])).rejects.toThrow(/ENOENT/);
    });

    it('asks the file again after cache_life, and every time with no_cache (cache_life 0)', async () => {
      writeFileSync(path.join(dir, 'aged.csv'), 'a\n');
      let now = 0;
      const { csv, ds } = cached({ ...DEFAULT_CACHE, lifeSeconds: 10 }, () => now);
      await ds.query('aged.csv', []);
      now = 9_999;
      await ds.query('aged.csv', []);
      expect(csv.stats.rowsMade).toBe(1);
      now = 10_000;
      await ds.query('aged.csv', []);
      expect(csv.stats.rowsMade).toBe(2);
      const none = cached({ ...DEFAULT_CACHE, lifeSeconds: 0 });
      await none.ds.query('aged.csv', []);
      await none.ds.query('aged.csv', []);
      expect(none.csv.stats.rowsMade).toBe(2);
      expect(none.ds.size).toBe(0);
    });
  });
});
