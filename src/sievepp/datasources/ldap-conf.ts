/**
 * How an ldaps: datasource verifies the server's certificate: as
 * Momentum's LDAP client does, by the TLS settings of OpenLDAP's client
 * configuration, ldap.conf(5). Momentum's page on ldaps (conf-ldaps.md,
 * "Configuring Momentum's LDAP Client") has the administrator name "a CA
 * certificate bundle, so that the LDAP client can verify the server
 * certificate" as `TLS_CACERT` in that file, and how strictly as
 * `TLS_REQCERT`.
 *
 * The files and variables are those libldap reads, in its order, a later
 * setting over an earlier one (ldap.conf(5), "FILES" and "ENVIRONMENT
 * VARIABLES"): the system's /etc/ldap/ldap.conf (Debian's; Momentum's own
 * is /opt/msys/3rdParty/etc/openldap/ldap.conf), the file `LDAPCONF`
 * names, then the variables `LDAPTLS_CACERT`, `LDAPTLS_CACERTDIR` and
 * `LDAPTLS_REQCERT`;
 * `LDAPNOINIT` set reads none of them. The user files (ldaprc in the home
 * and working directories) are not read: a server's settings do not
 * depend on the directory it was started in.
 *
 * `TLS_CACERT` names a PEM file of the certificates to trust, in place of
 * the usual ones (Node's, Mozilla's list), as in libldap; `TLS_CACERTDIR`
 * a directory of such files, trusted with TLS_CACERT's (ldap.conf(5): "The
 * TLS_CACERT is always used before TLS_CACERTDIR"; an OpenSSL libldap, as
 * Momentum's is, finds the files there by their hashed names, the links
 * c_rehash(1) makes, and every file that holds a PEM certificate is read
 * here, which finds the same ones); without either the usual ones are
 * trusted. `TLS_REQCERT` is `demand` (or `hard`, the same)
 * by default: a certificate that is not trusted, or not for the server's
 * name or address, fails the query; `try` does the same, since a server
 * over TLS always presents one; `allow` and `never` accept any.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';

/** Debian's libldap reads this file (its sysconfdir's ldap.conf). */
export const SYSTEM_LDAP_CONF = '/etc/ldap/ldap.conf';

const REQCERT = new Set(['never', 'allow', 'try', 'demand', 'hard']);

/**
 * ldap.conf(5)'s lines: blank lines and lines whose first character other
 * than white space is `#` are nothing; any other is an option's name (not
 * blank, case-insensitive) and its value, from the first non-blank after
 * the name to the last one before the end of the line, quotes and all
 * ("Quoting values that contain blanks may be incorrect, as the quotes
 * would become part of the value"). A name without a value sets nothing. A
 * later line sets its option over an earlier one. Names in upper case.
 */
export function parseLdapConf(text: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^[ \t]*([^ \t#][^ \t]*)[ \t]+(.*?)[ \t]*$/.exec(line);
    if (m?.[2]) options.set(m[1]!.toUpperCase(), m[2]);
  }
  return options;
}

/** The TLS settings in force: the CA file and directory to trust (neither: the usual ones) and TLS_REQCERT, with where it was read. */
export interface LdapTlsSettings {
  caFile?: string;
  caDir?: string;
  reqcert: string;
  /** Where TLS_REQCERT was set, for its error ("the default" when it was not). */
  reqcertFrom: string;
}

/** The files and variables, read now (a changed file applies to the connections opened after). */
export async function ldapTlsSettings(env: Readonly<Record<string, string | undefined>>, systemFile = SYSTEM_LDAP_CONF): Promise<LdapTlsSettings> {
  const settings: LdapTlsSettings = { reqcert: 'demand', reqcertFrom: 'the default' };
  if (env.LDAPNOINIT !== undefined) return settings;
  const take = (options: Map<string, string>, from: string) => {
    const ca = options.get('TLS_CACERT');
    if (ca !== undefined) settings.caFile = ca;
    const caDir = options.get('TLS_CACERTDIR');
    if (caDir !== undefined) settings.caDir = caDir;
    const req = options.get('TLS_REQCERT');
    if (req !== undefined) Object.assign(settings, { reqcert: req.toLowerCase(), reqcertFrom: from });
  };
  for (const file of [systemFile, env.LDAPCONF]) {
    if (!file) continue;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      // libldap passes over a file it cannot open; one that LDAPCONF names was meant to be read.
      if (file === systemFile && (e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new Error(`cannot read the LDAP client configuration ${file} (ldap.conf(5)): ${(e as Error).message}`);
    }
    take(parseLdapConf(text), file);
  }
  take(new Map(Object.entries({ TLS_CACERT: env.LDAPTLS_CACERT, TLS_CACERTDIR: env.LDAPTLS_CACERTDIR, TLS_REQCERT: env.LDAPTLS_REQCERT }).filter((e): e is [string, string] => !!e[1])), 'LDAPTLS_REQCERT');
  if (!REQCERT.has(settings.reqcert)) throw new Error(`TLS_REQCERT (${settings.reqcertFrom}) is never, allow, try, demand or hard, not ${settings.reqcert}`);
  return settings;
}

/** Node's TLS options for the settings: the CA file's and directory's certificates, and whether a certificate that fails verification fails the connection. */
export async function tlsOptionsOf(settings: LdapTlsSettings): Promise<ConnectionOptions> {
  const verify = settings.reqcert !== 'never' && settings.reqcert !== 'allow';
  if (settings.caFile === undefined && settings.caDir === undefined) return { rejectUnauthorized: verify };
  const ca: string[] = [];
  if (settings.caFile !== undefined) {
    try {
      ca.push(await readFile(settings.caFile, 'utf8'));
    } catch (e) {
      // conf-ldaps.md: "the CA certificate bundle needs to be readable ... If it isn't, then it will cause ... authentication to fail".
      throw new Error(`cannot read TLS_CACERT ${settings.caFile}: ${(e as Error).message}`);
    }
  }
  if (settings.caDir !== undefined) ca.push(...(await certificatesIn(settings.caDir)));
  return { ca, rejectUnauthorized: verify };
}

const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';

/**
 * The text of every file in `dir` that holds a PEM certificate, each once
 * (c_rehash's links name the same files again); other files (a CRL, a
 * README, a subdirectory) are passed over.
 */
async function certificatesIn(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new Error(`cannot read TLS_CACERTDIR ${dir}: ${(e as Error).message}`);
  }
  const texts = await Promise.all(names.sort().map((n) => readFile(join(dir, n), 'utf8').catch(() => '')));
  return [...new Set(texts.filter((t) => t.includes(PEM_CERTIFICATE)))];
}
