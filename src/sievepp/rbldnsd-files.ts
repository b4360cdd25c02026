/**
 * The rbldnsd files define_cidr reads with `dstype` "rbldnsd"
 * (sieve-ref-cidrdb.md): the query is the file and what to give,
 * `"/path/to/my.rbldnsd?want=txt"` (or `want=a`), relative to the
 * configuration's directory. The rows (rbldnsd.ts) are made in slices of
 * 2 ms with the event loop running between them, as the csv: driver reads
 * its files, and kept while the file stays the same (inode, size and
 * modification time): the same rows for the same file, so that define_cidr,
 * which scripts call at every run, keeps its table and index.
 */
import { isUtf8 } from 'node:buffer';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { nextTurn } from '../next-turn.js';
import type { Datasource, Row } from './datasource.js';
import { rbldnsdRows } from './rbldnsd.js';

const SLICE_MS = 2;

export class RbldnsdFiles implements Datasource {
  private readonly read = new Map<string, { version: string; rows: Promise<Row[]> }>();

  constructor(private readonly baseDir: string) {}

  reads(): boolean {
    return true;
  }

  async query(query: string): Promise<Row[]> {
    const q = query.indexOf('?');
    const want = new URLSearchParams(q < 0 ? '' : query.slice(q + 1)).get('want')?.toLowerCase();
    if (want !== 'a' && want !== 'txt') throw new Error(`define_cidr: an rbldnsd query names its file and want=a or want=txt ("/path/to/my.rbldnsd?want=txt"), not ${query}`);
    const file = path.resolve(this.baseDir, q < 0 ? query : query.slice(0, q));
    const s = await stat(file);
    const version = `${s.ino}:${s.size}:${s.mtimeMs}`;
    const key = `${want}\n${file}`;
    const known = this.read.get(key);
    if (known?.version === version) return known.rows;
    const rows = readRows(file, want);
    this.read.set(key, { version, rows });
    rows.catch(() => this.read.get(key)?.rows === rows && this.read.delete(key));
    return rows;
  }
}

async function readRows(file: string, want: 'a' | 'txt'): Promise<Row[]> {
  const octets = await readFile(file);
  const text = isUtf8(octets) ? octets.toString('utf8') : octets.toString('latin1');
  const rows: Row[] = [];
  let since = performance.now();
  for (const r of rbldnsdRows(text, want)) {
    rows.push(r.excluded ? { cidr: r.cidr, str: r.str, excluded: 'true' } : { cidr: r.cidr, str: r.str });
    if ((rows.length & 255) === 0 && performance.now() - since >= SLICE_MS) {
      await nextTurn();
      since = performance.now();
    }
  }
  return rows;
}
