/**
 * The datasource drivers smtp-cbv has, by the name a uri starts with
 * (`sqlite:...`, `csv:...`, `ldap://...`, `iowrapper:`), apart from their code: the configuration
 * checks a Datasource scope's driver with this list, and `check` must not
 * load the drivers (better-sqlite3) to do so.
 */
export const DATASOURCE_DRIVERS = ['sqlite', 'csv', 'ldap', 'ldaps', 'cdb', 'iowrapper'] as const;

export type DriverName = (typeof DATASOURCE_DRIVERS)[number];

/** The driver a uri names: the text before its first colon, case-insensitive. */
export function driverOf(uri: string): string {
  const colon = uri.indexOf(':');
  return (colon < 0 ? uri : uri.slice(0, colon)).toLowerCase();
}

/** Why a uri cannot be opened, or undefined when smtp-cbv has its driver. */
export function unknownDriver(uri: string): string | undefined {
  const driver = driverOf(uri);
  if ((DATASOURCE_DRIVERS as readonly string[]).includes(driver)) return undefined;
  return `datasource driver '${driver}' is not provided by smtp-cbv (it has ${DATASOURCE_DRIVERS.join(', ')})`;
}
