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
 * while a version is being read wait for that read and its parse. The
 * records of the 64 files read last are kept, with the rows of every record
 * that queries without a limit (max_rows = -1) asked for. The parse
 * (csv-parse.ts) and the rows are made in slices of 2 ms, between which the
 * event loop runs: a file of many megabytes holds other sessions a slice at
 * a time, and the garbage collections of what it makes (docs/server.md,
 * "The spool"). In front of it, as of every driver, is the datasource's
 * result cache (CachedDatasource): a query repeated within cache_life on the
 * same version of the file (versionOf) gets the rows already made.
 */
import { assumedDecoder, type CharsetDecoder, wholeText } from '../file-text.js';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Datasource, DataVersion, QueryParams, Row } from '../datasource.js';
import { CSV_SLICE_MS, CsvReader, inSlices } from './csv-parse.js';

/** A file's version as stat(2) tells it: a change of any of these reads it again. */
interface Version {
  ino: number;
  size: number;
  mtimeMs: number;
}

/** Files whose records are kept (per datasource). */
const MAX_FILES = 64;
/** Column counts whose rows of every record are kept, per file version. */
const MAX_SHAPES = 4;

/** A version of a file: its records, and the rows of every record made for queries without a limit, by column count. */
interface Loaded {
  version: Version;
  records: Promise<string[][]>;
  rows: Map<number, Promise<Row[]>>;
}

const sameVersion = (a: Version, b: Version) => a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

export interface CsvOptions {
  /** Longest piece of work, in ms, before the event loop gets a turn (default CSV_SLICE_MS; 0: a turn after every check of the clock). */
  sliceMs?: number;
  /**
   * The character set files are read in (the Datasource's `assume_charset`,
   * 3-reference-modules-ds-core.md, "Character Encoding Support"). A CSV
   * file does not say its charset; unset, a file that is valid UTF-8 is
   * read as UTF-8 and any other as ISO-8859-1, which Momentum assumes when
   * a driver cannot tell. Set, it is used for every file, valid UTF-8 or
   * not: ISO-2022-JP, the documented example, is 7-bit and so valid UTF-8.
   */
  assumeCharset?: string;
}

/** Column names: "1", "2", ... (made once). */
const columnNames: string[] = [];
const columnName = (i: number) => (columnNames[i] ??= String(i + 1));

export class CsvDatasource implements Datasource {
  /** Per absolute path: the version last read, its records (or the read and parse under way) and rows. */
  private readonly files = new Map<string, Loaded>();
  private readonly sliceMs: number;
  /** The configured charset's decoder, if any. */
  private readonly assumed: CharsetDecoder | undefined;
  /** Parses under way, file versions parsed, and sets of rows made (a query's, or every record's), since the datasource was made. */
  readonly stats = { parsing: 0, parsed: 0, rowsMade: 0 };

  constructor(
    /** Where relative file names resolve (the configuration's directory). */
    private readonly baseDir: string,
    /** A file named in the uri (`csv:/path/file.csv`), used when the query names none. */
    private readonly file?: string,
    options: CsvOptions = {},
  ) {
    this.sliceMs = options.sliceMs ?? CSV_SLICE_MS;
    this.assumed = assumedDecoder(options.assumeCharset);
  }

  /** The file a query names (absolute) and the columns it reads. */
  private target(query: string): { file: string; cols: number } {
    const [name, search] = query.includes('?') ? [query.slice(0, query.indexOf('?')), query.slice(query.indexOf('?') + 1)] : [query, ''];
    const file = name.trim() || this.file;
    if (!file) throw new Error('the query names no CSV file');
    // A column count as slice() takes it; none, 0, a negative or not a number: every column.
    const cols = Math.max(0, Math.trunc(Number(new URLSearchParams(search).get('cols') ?? '0'))) || 0;
    return { file: path.resolve(this.baseDir, file), cols };
  }

  /** Every query reads: Momentum caches a CSV query's rows as any other (3-reference-modules-ds-core.md). */
  reads(): boolean {
    return true;
  }

  /** The version of the file a query reads, as load() tells versions apart: the result cache keeps rows only while it stays. */
  async versionOf(query: string): Promise<DataVersion> {
    const { file } = this.target(query);
    const { ino, size, mtimeMs } = await stat(file);
    return { source: file, version: `${ino}:${size}:${mtimeMs}` };
  }

  async query(query: string, _params: QueryParams, limit?: number): Promise<Row[]> {
    const { file, cols } = this.target(query);
    const known = await this.load(file);
    const every = known.rows.get(cols) ?? (limit === undefined ? this.everyRow(known, cols) : undefined);
    if (!every) return this.rowsOf(await known.records, cols, limit);
    const rows = await every;
    return limit === undefined || limit >= rows.length ? rows : rows.slice(0, limit);
  }

  /**
   * A row of every record, made once per version and column count: with
   * max_rows = -1, as Momentum's CSV examples have it, every query of every
   * session would make them again (0.2-0.5 s of work for 20 MB). Shared
   * by the queries; nothing changes a query's rows.
   */
  private everyRow(known: Loaded, cols: number): Promise<Row[]> {
    const rows = known.records.then((records) => this.rowsOf(records, cols, undefined));
    known.rows.set(cols, rows);
    // A script could ask any number of column counts: the least recently made go first.
    if (known.rows.size > MAX_SHAPES) known.rows.delete(known.rows.keys().next().value!);
    return rows;
  }

  /** The first `limit` records (all without one) as rows of `cols` columns (all with 0), made in slices. */
  private async rowsOf(records: string[][], cols: number, limit: number | undefined): Promise<Row[]> {
    const end = limit === undefined ? records.length : Math.min(limit, records.length);
    const rows: Row[] = [];
    this.stats.rowsMade++;
    await inSlices((steps) => {
      for (const stop = Math.min(end, rows.length + steps); rows.length < stop; ) {
        const fields = records[rows.length]!;
        const row: Record<string, string> = {};
        for (let i = 0, n = cols > 0 ? Math.min(cols, fields.length) : fields.length; i < n; i++) row[columnName(i)] = fields[i]!;
        rows.push(row);
      }
      return rows.length >= end;
    }, this.sliceMs);
    return rows;
  }

  /** A version's records, read in slices; one parse however many queries wait for it. */
  private async parse(file: string): Promise<string[][]> {
    const bytes = await readFile(file);
    const text = wholeText(bytes, this.assumed);
    const reader = new CsvReader(text);
    this.stats.parsing++;
    try {
      await inSlices((steps) => reader.read(steps), this.sliceMs);
    } finally {
      this.stats.parsing--;
    }
    this.stats.parsed++;
    return reader.records;
  }

  /** The file's version as read: read again only if it changed since the last read. */
  private async load(file: string): Promise<Loaded> {
    const { ino, size, mtimeMs } = await stat(file);
    const version = { ino, size, mtimeMs };
    const known = this.files.get(file);
    if (known && sameVersion(known.version, version)) return known;
    const records = this.parse(file);
    const loaded: Loaded = { version, records, rows: new Map() };
    this.files.delete(file);
    this.files.set(file, loaded);
    // Queries name their files, so a script could name any number: the least recently read go first.
    if (this.files.size > MAX_FILES) this.files.delete(this.files.keys().next().value!);
    // A failed read is not kept: the next query tries again.
    records.catch(() => {
      if (this.files.get(file) === loaded) this.files.delete(file);
    });
    return loaded;
  }
}
