/**
 * Datasources from the configuration (`Datasource "name" { uri = ( "driver:..." ) }`,
 * 3-reference-modules-ds-core.md): the driver is the uri up to its first
 * colon. smtp-cbv has `sqlite:` and the static `csv:` driver; another
 * back end (PostgreSQL, MySQL, LDAP, ODBC) plugs in as one more class
 * implementing Datasource and one more entry in DRIVERS
 * (docs/momentum-compatibility.md).
 */
import path from 'node:path';
import type { Datasource } from '../datasource.js';
import { CsvDatasource } from './csv.js';
import { SqliteDatasource } from './sqlite.js';

const DRIVERS: Readonly<Record<string, (rest: string, baseDir: string, readOnly: boolean) => Datasource>> = {
  sqlite: (rest, baseDir, readOnly) => new SqliteDatasource(path.resolve(baseDir, rest.replace(/^\/\/(?=\/)/, '')), readOnly),
  csv: (rest, baseDir) => new CsvDatasource(baseDir, rest || undefined),
};

/** The drivers smtp-cbv has, for the configuration's error messages. */
export const DATASOURCE_DRIVERS = Object.keys(DRIVERS);

/** A datasource for a uri, or a message saying why there is none; `readOnly`: statements that write fail (the dry run). */
export function openDatasource(uri: string, baseDir: string, readOnly = false): Datasource | string {
  const colon = uri.indexOf(':');
  const driver = colon < 0 ? uri : uri.slice(0, colon).toLowerCase();
  const make = DRIVERS[driver];
  if (!make) return `datasource driver '${driver}' is not provided by smtp-cbv (it has ${DATASOURCE_DRIVERS.join(', ')})`;
  return make(colon < 0 ? '' : uri.slice(colon + 1), baseDir, readOnly);
}
