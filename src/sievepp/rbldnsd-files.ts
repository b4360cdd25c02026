/**
 * The rbldnsd files define_cidr reads with `dstype` "rbldnsd"
 * (sieve-ref-cidrdb.md): the query is the file and what to give,
 * `"/path/to/my.rbldnsd?want=txt"` (or `want=a`), relative to the
 * configuration's directory; `type=ip4set`, `ip6trie` or `ip6tset` reads
 * the file as that rbldnsd dataset (rbldnsd.ts), none both families as
 * Momentum reads an rbldnsd file. The rows are kept while the file stays the
 * same (inode, size and modification time): the same rows for the same
 * file, so that define_cidr, which scripts call at every run, keeps its
 * table and index.
 *
 * A file is never held whole as text: it is read through the thread pool a
 * chunk at a time, each chunk decoded as it arrives and its lines given to
 * the line reader (rbldnsd.ts) in slices of 2 ms, with the event loop
 * running between them, as the csv: driver reads its files. A feed of
 * hundreds of megabytes is never split into lines in one step. The text is
 * UTF-8 when the whole file is valid UTF-8, else ISO-8859-1: a chunk that
 * is not UTF-8 starts the read again from the file's start in ISO-8859-1.
 */
import { type FileHandle, open, stat } from 'node:fs/promises';
import path from 'node:path';
import { nextSlice, type SliceClock, sliceOver } from '../next-turn.js';
import type { Datasource, Row } from './datasource.js';
import { type CharsetDecoder, chunkText, readAsText } from './file-text.js';
import { DATASET_TYPES, type DatasetType, RbldnsdReader } from './rbldnsd.js';

const SLICE_MS = 2;
/** Octets read and decoded in one step. */
const CHUNK = 256 * 1024;
/** Lines read between two looks at the clock. */
const LINES_PER_LOOK = 256;

export interface RbldnsdFilesOptions {
  /** Octets read and decoded in one step (default 256 KiB). */
  chunkBytes?: number;
  /** Longest piece of work, in ms, before the event loop gets a turn (default 2). */
  sliceMs?: number;
}

export class RbldnsdFiles implements Datasource {
  private readonly read = new Map<string, { version: string; rows: Promise<Row[]> }>();
  private readonly chunkBytes: number;
  private readonly sliceMs: number;

  constructor(
    private readonly baseDir: string,
    options: RbldnsdFilesOptions = {},
  ) {
    this.chunkBytes = Math.max(1, options.chunkBytes ?? CHUNK);
    this.sliceMs = options.sliceMs ?? SLICE_MS;
  }

  reads(): boolean {
    return true;
  }

  async query(query: string): Promise<Row[]> {
    const q = query.indexOf('?');
    const search = new URLSearchParams(q < 0 ? '' : query.slice(q + 1));
    const want = search.get('want')?.toLowerCase();
    if (want !== 'a' && want !== 'txt') throw new Error(`define_cidr: an rbldnsd query names its file and want=a or want=txt ("/path/to/my.rbldnsd?want=txt"), not ${query}`);
    const type = search.get('type')?.toLowerCase() as DatasetType | undefined;
    if (type !== undefined && !DATASET_TYPES.includes(type)) throw new Error(`define_cidr: an rbldnsd query's type= is ${DATASET_TYPES.join(', ')} or none (IPv4 and IPv6 entries alike), not ${type}`);
    const file = path.resolve(this.baseDir, q < 0 ? query : query.slice(0, q));
    const s = await stat(file);
    const version = `${s.ino}:${s.size}:${s.mtimeMs}`;
    const key = `${want}\n${type ?? ''}\n${file}`;
    const known = this.read.get(key);
    if (known?.version === version) return known.rows;
    const rows = this.readRows(file, want, type);
    this.read.set(key, { version, rows });
    rows.catch(() => this.read.get(key)?.rows === rows && this.read.delete(key));
    return rows;
  }

  private async readRows(file: string, want: 'a' | 'txt', type: DatasetType | undefined): Promise<Row[]> {
    const fh = await open(file, 'r');
    try {
      return await readAsText(undefined, (decoder) => this.rowsOf(fh, want, type, decoder));
    } finally {
      await fh.close();
    }
  }

  /** The rows of the file from its start, its text decoded by `decoder` (none: ISO-8859-1). */
  private async rowsOf(fh: FileHandle, want: 'a' | 'txt', type: DatasetType | undefined, decoder: CharsetDecoder | undefined): Promise<Row[]> {
    const rows: Row[] = [];
    const reader = new RbldnsdReader(want, (cidr, str, excluded) => rows.push(excluded ? { cidr, str, excluded: 'true' } : { cidr, str }), type);
    const buf = Buffer.allocUnsafe(this.chunkBytes);
    const clock: SliceClock = { sliceMs: this.sliceMs, since: performance.now() };
    // The start of a line whose end is in a chunk still to come.
    let partial = '';
    let position = 0;
    let lines = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, this.chunkBytes, position);
      // The read was a turn of the event loop: a new slice.
      clock.since = performance.now();
      position += bytesRead;
      const text = chunkText(decoder, buf.subarray(0, bytesRead), bytesRead > 0);
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        reader.line(partial + text.slice(start, nl));
        partial = '';
        start = nl + 1;
        if (++lines % LINES_PER_LOOK === 0 && sliceOver(clock)) await nextSlice(clock);
      }
      partial += text.slice(start);
      if (bytesRead === 0) break;
    }
    // The text after the last line end is a line too.
    reader.line(partial);
    reader.finish();
    return rows;
  }
}
