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
import { type DriverName, driverOf, unknownDriver } from './drivers.js';
import { SqliteDatasource } from './sqlite.js';

const DRIVERS: Readonly<Record<DriverName, (rest: string, baseDir: string, readOnly: boolean) => Datasource>> = {
  sqlite: (rest, baseDir, readOnly) => new SqliteDatasource(path.resolve(baseDir, rest.replace(/^\/\/(?=\/)/, '')), readOnly),
  csv: (rest, baseDir) => new CsvDatasource(baseDir, rest || undefined),
};

/** A datasource for a uri, or a message saying why there is none; `readOnly`: statements that write fail (the dry run). */
export function openDatasource(uri: string, baseDir: string, readOnly = false): Datasource | string {
  const unknown = unknownDriver(uri);
  if (unknown) return unknown;
  const colon = uri.indexOf(':');
  return DRIVERS[driverOf(uri) as DriverName](colon < 0 ? '' : uri.slice(colon + 1), baseDir, readOnly);
}
