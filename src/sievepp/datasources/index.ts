/**
 * Datasources from the configuration (`Datasource "name" { uri = ( "driver:..." ) }`,
 * 3-reference-modules-ds-core.md): the driver is the uri up to its first
 * colon. smtp-cbv has `sqlite:`, the static `csv:` driver, `ldap:`
 * (`ldaps:` over TLS), `cdb:` and `iowrapper:`; another back end (PostgreSQL, MySQL, ODBC) plugs in as one more class
 * implementing Datasource and one more entry in DRIVERS
 * (docs/momentum-compatibility.md).
 */
import path from 'node:path';
import type { Datasource } from '../datasource.js';
import { CdbDatasource } from './cdb.js';
import { CsvDatasource } from './csv.js';
import { type DriverName, driverOf, unknownDriver } from './drivers.js';
import { IoWrapperDatasource } from './iowrapper.js';
import { LdapDatasource } from './ldap.js';
import type { ConnectionCacheSettings } from './ldap-connections.js';
import { SqliteDatasource } from './sqlite.js';

/**
 * How a Datasource scope opens its driver: `readOnly`, statements that write
 * fail (the dry run); `assumeCharset`, its `assume_charset`;
 * `connectionCache`, its `connection_cache_size` and `connection_cache_life`
 * (the ldap: driver's).
 */
export interface OpenOptions {
  readOnly?: boolean;
  assumeCharset?: string | null;
  connectionCache?: ConnectionCacheSettings;
}

const DRIVERS: Readonly<Record<DriverName, (rest: string, baseDir: string, options: OpenOptions) => Datasource>> = {
  // SQLite knows its text is UTF-8 (or UTF-16): assume_charset does not apply.
  sqlite: (rest, baseDir, o) => new SqliteDatasource(path.resolve(baseDir, rest.replace(/^\/\/(?=\/)/, '')), o.readOnly ?? false),
  csv: (rest, baseDir, o) => new CsvDatasource(baseDir, rest || undefined, o.assumeCharset ? { assumeCharset: o.assumeCharset } : {}),
  // The whole uri is an LDAP URL (RFC 4516).
  ldap: (rest, _baseDir, o) => new LdapDatasource(`ldap:${rest}`, o.connectionCache ? { connectionCache: o.connectionCache } : {}),
  ldaps: (rest, _baseDir, o) => new LdapDatasource(`ldaps:${rest}`, o.connectionCache ? { connectionCache: o.connectionCache } : {}),
  cdb: (rest, baseDir, o) => new CdbDatasource(baseDir, rest || undefined, o.assumeCharset ? { assumeCharset: o.assumeCharset } : {}),
  iowrapper: (rest, baseDir, o) => new IoWrapperDatasource(baseDir, rest || undefined, o.assumeCharset ? { assumeCharset: o.assumeCharset } : {}),
};

/** A datasource for a uri, or a message saying why there is none. */
export function openDatasource(uri: string, baseDir: string, options: OpenOptions = {}): Datasource | string {
  const unknown = unknownDriver(uri);
  if (unknown) return unknown;
  const colon = uri.indexOf(':');
  return DRIVERS[driverOf(uri) as DriverName](colon < 0 ? '' : uri.slice(colon + 1), baseDir, options);
}
