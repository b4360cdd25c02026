/**
 * The CSV datasource driver, a static file datasource
 * (3-reference-modules-ds-core.md, "CSV"): `uri = ( "csv:" )`, and the
 * query names the file and how many columns to read,
 * `"/path/to/file.csv?cols=2"`. Every row is returned (Momentum's CSV
 * driver has no WHERE); columns are named "1", "2", ... A relative path
 * resolves against the configuration's directory. Fields follow RFC 4180
 * (double quotes, "" inside quotes).
 *
 * The file is read on the thread pool, never on the event loop, and parsed
 * once per version: a query stats it, and reads and parses it again only
 * when its inode, size or modification time changed (a file replaced by
 * rename, as deploy tools do, or rewritten in place). Queries that arrive
 * while a version is being read wait for that read. The records of the 64
 * files read last are kept. Parsing runs on the event loop, once per
 * version, so a file of many megabytes costs every session that long once
 * after each change (docs/server.md, "The spool").
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Datasource, QueryParams, Row } from '../datasource.js';

/** RFC 4180 records: fields split on commas, quoted fields may hold commas, quotes ("") and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.length > 1 || row[0] !== '') rows.push(row);
      (row = []), (field = '');
    } else field += c;
  }
  if (field !== '' || row.length) rows.push([...row, field]);
  return rows;
}

/** A file's version as stat(2) tells it: a change of any of these reads it again. */
interface Version {
  ino: number;
  size: number;
  mtimeMs: number;
}

/** Files whose records are kept (per datasource). */
const MAX_FILES = 64;

const sameVersion = (a: Version, b: Version) => a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

export class CsvDatasource implements Datasource {
  /** Per absolute path: the version last read and its records, or the read under way. */
  private readonly files = new Map<string, { version: Version; records: Promise<string[][]> }>();

  constructor(
    /** Where relative file names resolve (the configuration's directory). */
    private readonly baseDir: string,
    /** A file named in the uri (`csv:/path/file.csv`), used when the query names none. */
    private readonly file?: string,
  ) {}

  async query(query: string, _params: QueryParams, limit?: number): Promise<Row[]> {
    const [name, search] = query.includes('?') ? [query.slice(0, query.indexOf('?')), query.slice(query.indexOf('?') + 1)] : [query, ''];
    const file = name.trim() || this.file;
    if (!file) throw new Error('the query names no CSV file');
    const cols = Number(new URLSearchParams(search).get('cols') ?? '0');
    const rows: Row[] = [];
    for (const fields of await this.records(path.resolve(this.baseDir, file))) {
      const used = cols > 0 ? fields.slice(0, cols) : fields;
      rows.push(Object.fromEntries(used.map((f, i) => [String(i + 1), f])));
      if (limit !== undefined && rows.length >= limit) break;
    }
    return rows;
  }

  /** The file's records, read again only if it changed since the last read. */
  private async records(file: string): Promise<string[][]> {
    const { ino, size, mtimeMs } = await stat(file);
    const version = { ino, size, mtimeMs };
    const known = this.files.get(file);
    if (known && sameVersion(known.version, version)) return known.records;
    const records = readFile(file, 'utf8').then(parseCsv);
    this.files.delete(file);
    this.files.set(file, { version, records });
    // Queries name their files, so a script could name any number: the least recently read go first.
    if (this.files.size > MAX_FILES) this.files.delete(this.files.keys().next().value!);
    // A failed read is not kept: the next query tries again.
    records.catch(() => {
      if (this.files.get(file)?.records === records) this.files.delete(file);
    });
    return records;
  }
}
