/**
 * The csv: datasource driver reads its file off the event loop and once per
 * version of the file (src/sievepp/datasources/csv.ts).
 */
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvDatasource } from '../../src/sievepp/datasources/csv.js';

describe('the csv: datasource', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'smtp-cbv-csv-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const values = async (ds: CsvDatasource, query: string) => (await ds.query(query, [])).map((r) => Object.values(r));

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
});
