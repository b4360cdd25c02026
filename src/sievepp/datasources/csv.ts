/**
 * The CSV datasource driver, a static file datasource
 * (3-reference-modules-ds-core.md, "CSV"): `uri = ( "csv:" )`, and the
 * query names the file and how many columns to read,
 * `"/path/to/file.csv?cols=2"`. Every row is returned (Momentum's CSV
 * driver has no WHERE); columns are named "1", "2", ... A relative path
 * resolves against the configuration's directory. Fields follow RFC 4180
 * (double quotes, "" inside quotes).
 */
import { readFileSync } from 'node:fs';
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

export class CsvDatasource implements Datasource {
  constructor(
    /** Where relative file names resolve (the configuration's directory). */
    private readonly baseDir: string,
    /** A file named in the uri (`csv:/path/file.csv`), used when the query names none. */
    private readonly file?: string,
  ) {}

  query(query: string, _params: QueryParams, limit?: number): Row[] {
    const [name, search] = query.includes('?') ? [query.slice(0, query.indexOf('?')), query.slice(query.indexOf('?') + 1)] : [query, ''];
    const file = name.trim() || this.file;
    if (!file) throw new Error('the query names no CSV file');
    const cols = Number(new URLSearchParams(search).get('cols') ?? '0');
    const rows: Row[] = [];
    for (const fields of parseCsv(readFileSync(path.resolve(this.baseDir, file), 'utf8'))) {
      const used = cols > 0 ? fields.slice(0, cols) : fields;
      rows.push(Object.fromEntries(used.map((f, i) => [String(i + 1), f])));
      if (limit !== undefined && rows.length >= limit) break;
    }
    return rows;
  }
}
