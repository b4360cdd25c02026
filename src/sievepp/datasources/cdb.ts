/**
 * The CDB datasource driver (3-reference-modules-ds-core.md, "Constant
 * Database (CDB)"): `uri = ( "cdb:/path/to/data.cdb" )`, or `cdb:` alone
 * with the file named in each query, `"/path/to/bl.cdb?$domain"` (the
 * page's own example), a query without `?` being the key in the uri's
 * file. `$name` in the key is the ds_fetch hash's value of that name. Each
 * record of the key is a row of one column, `value`; none is no row.
 *
 * A constant database as D. J. Bernstein's cdb and tinycdb write it: 256
 * (position, length) pairs of little-endian 32-bit numbers, then the
 * records (key length, data length, key, data), then the hash tables,
 * keys hashed h = h * 33 ^ octet from 5381. A look-up reads the pair, the
 * key's table and the records it points at, through the thread pool: a
 * file made again by cdbmake (a rename) is the one the next query reads,
 * and none is held in memory. Keys are the UTF-8 octets of the text;
 * values are read as the csv: driver reads a file (assume_charset, else
 * UTF-8 when valid, else ISO-8859-1, which Momentum assumes).
 */
import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { assumedDecoder, type CharsetDecoder, wholeText } from '../file-text.js';
import type { Datasource, QueryParams, Row } from '../datasource.js';
import { fillNamedParams } from './named-params.js';

export class CdbDatasource implements Datasource {
  private readonly assumed: CharsetDecoder | undefined;

  constructor(
    /** The configuration file's directory: relative files are read from there. */
    private readonly baseDir: string,
    /** The uri's file, when it names one. */
    private readonly file: string | undefined,
    options: { assumeCharset?: string } = {},
  ) {
    this.assumed = assumedDecoder(options.assumeCharset);
  }

  /** A look-up changes nothing: its results may be cached. */
  reads(): boolean {
    return true;
  }

  async query(query: string, params: QueryParams, limit?: number): Promise<Row[]> {
    if (Array.isArray(params) && params.length) throw new Error('the cdb: driver takes $name parameters (a hash), not ? ones');
    const q = query.indexOf('?');
    const file = q < 0 ? this.file : query.slice(0, q);
    if (!file) throw new Error(`cdb: the query names no file ("/path/to/data.cdb?key") and the datasource's uri none either: ${query}`);
    const named = Array.isArray(params) ? {} : (params as Record<string, string>);
    const key = fillNamedParams(q < 0 ? query : query.slice(q + 1), named);
    const values = await lookUp(path.resolve(this.baseDir, file), Buffer.from(key, 'utf8'), limit !== undefined && limit >= 0 ? limit : Infinity);
    return values.map((v) => ({ value: wholeText(v, this.assumed) }));
  }
}

/** cdb's hash of a key (cdb.txt): 5381, then for each octet h = h * 33 ^ octet, in 32 bits. */
export function cdbHash(key: Buffer): number {
  let h = 5381;
  for (const c of key) h = (Math.imul(h, 33) ^ c) >>> 0;
  return h;
}

/** The data of every record of `key` in the file, in the order the file holds them, at most `limit`. */
async function lookUp(file: string, key: Buffer, limit: number): Promise<Buffer[]> {
  const fh = await open(file, 'r');
  try {
    const h = cdbHash(key);
    const pair = await readAt(fh, file, (h & 255) * 8, 8);
    const tablePos = pair.readUInt32LE(0);
    const slots = pair.readUInt32LE(4);
    const found: Buffer[] = [];
    if (slots === 0) return found;
    const table = await readAt(fh, file, tablePos, slots * 8);
    let slot = (h >>> 8) % slots;
    for (let n = 0; n < slots && found.length < limit; n++, slot = (slot + 1) % slots) {
      const hash = table.readUInt32LE(slot * 8);
      const at = table.readUInt32LE(slot * 8 + 4);
      // An empty slot ends the key's run.
      if (at === 0) break;
      if (hash !== h) continue;
      const lengths = await readAt(fh, file, at, 8);
      const keyLength = lengths.readUInt32LE(0);
      if (keyLength !== key.length) continue;
      const record = await readAt(fh, file, at + 8, keyLength + lengths.readUInt32LE(4));
      if (record.subarray(0, keyLength).equals(key)) found.push(record.subarray(keyLength));
    }
    return found;
  } finally {
    await fh.close();
  }
}

async function readAt(fh: FileHandle, file: string, at: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, at);
  if (bytesRead < length) throw new Error(`${file}: not a CDB file (it ends at ${at + bytesRead}, where a record or table was to be ${length} octets)`);
  return buf;
}
