/**
 * The LDAP datasource driver (4/modules/ds-core.md, "LDAP"):
 * `uri = ( "ldap://host:port/dn?attributes?scope?filter?extensions" )`,
 * and each query an LDAP URL whose missing parts are the uri's
 * (ldap-url.ts), with `$name` parameters. Each entry found is a row: its
 * requested attributes (every user attribute when none are named) as
 * columns, an attribute of several values by its first and, for
 * ds_fetch_hash, by all of them (VALUES, datasource.ts), and with
 * `x-return-dn=<name>` the entry's DN under that name.
 *
 * Extensions, as Momentum reads them: `bindname` and `x-bindpw` bind
 * first (else the search is anonymous); `x-connect-timeout` (seconds,
 * default 10) and `x-search-timeout` (seconds, default 6: the server is
 * told the same time limit); `x-disable-connection-cache=true` opens a
 * connection for the query alone. Other extensions are ignored unless
 * marked critical (`!`), which RFC 4516 2.1 says must then fail. Referrals
 * are not followed (`x-ignore-referrals` changes nothing).
 *
 * Connections are kept and used again for the same server, bind and
 * timeouts, as ds_ldap does (ldap-connections.ts: connection_cache_size
 * of them at most, each for connection_cache_life); one that failed (not
 * one the server answered with an error) is dropped, and the next query
 * opens another. An ldaps: server's certificate is verified as OpenLDAP's
 * ldap.conf says, TLS_CACERT and TLS_REQCERT (ldap-conf.ts), as Momentum
 * has it configured (conf-ldaps.md). ldapts speaks the protocol.
 */
import { createRequire } from 'node:module';
import type { Client } from 'ldapts';
import { type Datasource, type QueryParams, type Row, VALUES } from '../datasource.js';
import { ldapTlsSettings, SYSTEM_LDAP_CONF, tlsOptionsOf } from './ldap-conf.js';
import { ConnectionCache, type ConnectionCacheSettings, type Lease } from './ldap-connections.js';
import { bindLdapParams, type LdapSearch, LdapUrlError, mergeLdapUrls, parseLdapUrl } from './ldap-url.js';

/** ldapts, loaded by the first query: a configuration that names no LDAP server (and `check`) never loads it. */
let ldapts: typeof import('ldapts') | undefined;
const loadLdapts = () => (ldapts ??= createRequire(import.meta.url)('ldapts') as typeof import('ldapts'));

/** Momentum's page gives no defaults for connection_cache_size and connection_cache_life: these are smtp-cbv's (docs/momentum-compatibility.md). */
export const DEFAULT_CONNECTION_CACHE: Readonly<ConnectionCacheSettings> = { size: 16, lifeSeconds: null };
const DEFAULT_CONNECT_TIMEOUT_S = 10;
const DEFAULT_SEARCH_TIMEOUT_S = 6;
const KNOWN = new Set(['bindname', 'x-bindpw', 'x-connect-timeout', 'x-search-timeout', 'x-return-dn', 'x-disable-connection-cache', 'x-ignore-referrals', 'x-ldap-version']);

export interface LdapOptions {
  /** The datasource's connection_cache_size and connection_cache_life (ldap-connections.ts). */
  connectionCache?: ConnectionCacheSettings;
  /** Where ldap.conf(5)'s variables are read (LDAPCONF, LDAPTLS_CACERT...; ldap-conf.ts): the process's environment unless given. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The system's ldap.conf, read first (ldap-conf.ts). */
  systemLdapConf?: string;
}

export class LdapDatasource implements Datasource {
  private readonly uri;
  /** Open connections by server, bind and timeouts. */
  private readonly connections: ConnectionCache<Client>;
  private readonly env;
  private readonly systemLdapConf;

  constructor(uri: string, options: LdapOptions = {}) {
    this.uri = parseLdapUrl(uri);
    this.env = options.env ?? process.env;
    this.systemLdapConf = options.systemLdapConf ?? SYSTEM_LDAP_CONF;
    this.connections = new ConnectionCache(options.connectionCache ?? DEFAULT_CONNECTION_CACHE, {
      alive: (c) => c.isConnected,
      close: (c) => c.unbind(),
    });
  }

  /** An LDAP search changes nothing: its results may be cached. */
  reads(): boolean {
    return true;
  }

  async query(query: string, params: QueryParams, limit?: number): Promise<Row[]> {
    if (Array.isArray(params) && params.length) throw new LdapUrlError('the ldap: driver takes $name parameters (a hash), not ? ones');
    const search = bindLdapParams(mergeLdapUrls(this.uri, parseLdapUrl(query)), Array.isArray(params) ? {} : (params as Record<string, string>));
    for (const [type, e] of search.extensions) if (e.critical && !KNOWN.has(type)) throw new LdapUrlError(`the LDAP URL's critical extension ${type} is not supported`);
    const seconds = (type: string, otherwise: number) => {
      const v = search.extensions.get(type)?.value;
      const n = v === undefined || v === '' ? otherwise : Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new LdapUrlError(`${type} is a number of seconds, not ${v}`);
      return n;
    };
    const searchTimeout = seconds('x-search-timeout', DEFAULT_SEARCH_TIMEOUT_S);
    const cached = search.extensions.get('x-disable-connection-cache')?.value.toLowerCase() !== 'true';
    let lease: Lease<Client> | undefined;
    let failed = false;
    try {
      lease = await this.connection(search, seconds('x-connect-timeout', DEFAULT_CONNECT_TIMEOUT_S), searchTimeout, cached);
      const { searchEntries } = await lease.connection.search(search.base, {
        scope: search.scope,
        filter: search.filter,
        attributes: search.attributes,
        ...(limit !== undefined && limit > 0 ? { sizeLimit: limit } : {}),
        timeLimit: Math.ceil(searchTimeout),
      });
      const dnName = search.extensions.get('x-return-dn')?.value;
      return searchEntries.slice(0, limit !== undefined && limit >= 0 ? limit : undefined).map((entry) => rowOf(entry, search.attributes, dnName));
    } catch (e) {
      // A connection that failed is not used again (one that could not be made or bound is not kept at all);
      // one the server answered with a result code (no such object, a size limit) is as good as before.
      failed = typeof (e as { code?: unknown }).code !== 'number';
      throw failure(search, e);
    } finally {
      lease?.release(failed);
    }
  }

  close(): void {
    this.connections.close();
  }

  /** A connection to the search's server, bound as its extensions say: a kept one, or a new one. */
  private connection(search: LdapSearch, connectTimeoutS: number, searchTimeoutS: number, cached: boolean): Promise<Lease<Client>> {
    const bindDn = search.extensions.get('bindname')?.value;
    const password = search.extensions.get('x-bindpw')?.value ?? '';
    const url = `${search.secure ? 'ldaps' : 'ldap'}://${search.host.includes(':') ? `[${search.host}]` : search.host}:${search.port}`;
    // One the server closed meanwhile (an idle timeout) is opened and bound again by the cache: ldapts would
    // reconnect by itself, but unbound, and a bound search would quietly become an anonymous one.
    const open = async () => {
      // ldaps: verifies the server's certificate as ldap.conf says (ldap-conf.ts), read at each connection opened.
      // ldapts speaks TLS whenever it is given tlsOptions: an ldap: URL is given none.
      const tlsOptions = search.secure ? await tlsOptionsOf(await ldapTlsSettings(this.env, this.systemLdapConf)) : undefined;
      const client = new (loadLdapts().Client)({ url, connectTimeout: connectTimeoutS * 1000, timeout: searchTimeoutS * 1000, ...(tlsOptions ? { tlsOptions } : {}) });
      try {
        if (bindDn !== undefined) await client.bind(bindDn, password);
      } catch (e) {
        void client.unbind().catch(() => undefined);
        throw e;
      }
      return client;
    };
    return this.connections.lease(JSON.stringify([url, bindDn ?? null, password, connectTimeoutS, searchTimeoutS]), open, cached);
  }
}

/**
 * An entry as a row: the attributes the query named first, in its order
 * and spelled as it spelled them (ds_fetch gives the values in the order of
 * the query's columns, sieve-ref-ds-fetch.md), then any others the server
 * sent; each by its first value, and an attribute of several values by all
 * of them under VALUES as well, in the order the server sent them
 * (ds_fetch_hash's stringlist, sieve-ref-ds-fetch-hash.md).
 */
function rowOf(entry: Record<string, unknown> & { dn: string }, asked: readonly string[], dnName: string | undefined): Row {
  const byName = new Map<string, string[]>();
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'dn') continue;
    const values = (Array.isArray(value) ? value : [value]).filter((v) => v !== undefined).map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v)));
    if (values.length) byName.set(name.toLowerCase(), values);
  }
  const columns: [string, string[]][] = [];
  for (const a of asked) {
    const v = byName.get(a.toLowerCase());
    if (v === undefined) continue;
    columns.push([a, v]);
    byName.delete(a.toLowerCase());
  }
  columns.push(...byName);
  const row: Record<string, string> = {};
  const several: Record<string, readonly string[]> = {};
  for (const [name, values] of columns) {
    row[name] = values[0]!;
    if (values.length > 1) several[name] = values;
  }
  if (dnName) {
    row[dnName] = entry.dn;
    delete several[dnName];
  }
  return Object.keys(several).length ? Object.assign(row, { [VALUES]: several }) : row;
}

/** Node's codes for a certificate that did not verify (OpenSSL's X509_V_ERR_ names, and the name check's). */
const UNTRUSTED = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|CERT_|ERR_TLS_CERT_ALTNAME_INVALID)/;

/**
 * An LDAP failure said with the server it came from and the result's name
 * (ldapts names each result code: InvalidCredentialsError, Code 0x31); a
 * certificate that did not verify says so, and what trusts one
 * (ldap-conf.ts).
 */
function failure(search: LdapSearch, e: unknown): Error {
  const err = e as Error & { code?: number | string };
  const where = `LDAP ${search.host}:${search.port}`;
  if (typeof err.code === 'string' && UNTRUSTED.test(err.code)) return new Error(`${where}: the server's certificate is not trusted (${err.message.trim()}): TLS_CACERT in ldap.conf names the CA certificates to trust`);
  return new Error(`${where}: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message.trim()}`);
}
