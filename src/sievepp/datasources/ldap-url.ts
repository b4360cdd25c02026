/**
 * LDAP URLs as the ldap: datasource driver reads them (RFC 4516;
 * 4/modules/ds-core.md, "LDAP"): the datasource's `uri` names the server
 * and may give any part of a search, and each query is an LDAP URL whose
 * missing parts are the uri's. `$name` in a part is the ds_fetch hash's
 * value of that name (sieve-ref-ds-fetch.md: the `$name` markers of
 * drivers whose syntax gives `?` and `:` a meaning), put in after the URL
 * is taken apart, so that a value's `?` or `,` is its own: escaped by RFC
 * 4515 in the filter, where a `*` or a `)` would change what is searched
 * for; as it is elsewhere, where Momentum's own example passes a whole DN
 * (`bindname=$username` with "CN=user,OU=unit", 3-reference-modules-ds-core.md).
 *
 * A query may be written over several lines of a script, as Momentum's
 * examples are: a line break and the white space after it are not part of
 * the URL (RFC 4516 allows no white space unencoded).
 */

import { fillNamedParams } from './named-params.js';

export type LdapScope = 'base' | 'one' | 'sub';

/** One LDAP URL's parts as written, percent-decoded; a part not written is absent. */
export interface LdapUrl {
  secure: boolean;
  host?: string;
  port?: number;
  dn?: string;
  attributes?: string[];
  scope?: LdapScope;
  filter?: string;
  /** Extensions by lower-case type (RFC 4516 2.1, `bindname`, Momentum's `x-bindpw`...); a critical one is marked `!`. */
  extensions: Map<string, { value: string; critical: boolean }>;
}

/** A malformed URL: its message says what was expected. */
export class LdapUrlError extends Error {}

const SCOPES = new Set<string>(['base', 'one', 'sub']);

/** RFC 4516 2: `ldap[s]://[host[:port]][/dn[?attributes[?scope[?filter[?extensions]]]]]`. */
export function parseLdapUrl(written: string): LdapUrl {
  const text = written.replace(/\r?\n[ \t]*/g, '').trim();
  const m = /^(ldaps?):\/\/([^/?]*)(?:\/([^?]*)(?:\?([^?]*)(?:\?([^?]*)(?:\?([^?]*)(?:\?(.*))?)?)?)?)?$/i.exec(text);
  // The text is quoted without its password: the message reaches logs and datasource_error.
  if (!m) throw new LdapUrlError(`not an LDAP URL (RFC 4516: ldap://host:port/dn?attributes?scope?filter?extensions): ${text.replace(/(x-bindpw=)[^,]*/gi, '$1...')}`);
  const [, scheme, hostPort, dn, attributes, scope, filter, extensions] = m;
  const url: LdapUrl = { secure: scheme!.toLowerCase() === 'ldaps', extensions: new Map() };
  if (hostPort) {
    const hp = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(hostPort);
    if (!hp) throw new LdapUrlError(`an LDAP URL's host is host or host:port, not ${hostPort}`);
    if (hp[1]) url.host = decode(hp[1].replace(/^\[|\]$/g, ''));
    if (hp[2] !== undefined) {
      url.port = Number(hp[2]);
      if (url.port < 1 || url.port > 65535) throw new LdapUrlError(`an LDAP URL's port is 1 to 65535, not ${hp[2]}`);
    }
  }
  if (dn) url.dn = decode(dn);
  if (attributes) url.attributes = attributes.split(',').map((a) => decode(a).trim()).filter(Boolean);
  if (scope) {
    const s = decode(scope).toLowerCase();
    if (!SCOPES.has(s)) throw new LdapUrlError(`an LDAP URL's scope is base, one or sub, not ${s}`);
    url.scope = s as LdapScope;
  }
  // White space between a filter's parts, as in Momentum's own example ("(&(objectCategory=person) (objectClass=contact))"),
  // is read by OpenLDAP's libldap, though not by RFC 4515 or ldapts: it is dropped. A value's own parentheses are
  // escaped (RFC 4515 3), so a `)` with space and a `(` after it is always between two parts.
  if (filter) url.filter = decode(filter).replace(/\)\s+\(/g, ')(');
  // Extensions are separated by commas; a comma of a value is written %2C (RFC 4516 2.1).
  for (const e of (extensions ?? '').split(',').filter(Boolean)) {
    const critical = e.startsWith('!');
    const eq = e.indexOf('=');
    const type = decode(eq < 0 ? e.slice(critical ? 1 : 0) : e.slice(critical ? 1 : 0, eq)).toLowerCase();
    if (!type) throw new LdapUrlError(`an LDAP URL's extension has a type: ${e}`);
    url.extensions.set(type, { value: eq < 0 ? '' : decode(e.slice(eq + 1)), critical });
  }
  return url;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new LdapUrlError(`an LDAP URL's part is percent-encoded UTF-8 (RFC 4516 2.1), not ${part}`);
  }
}

/** A search: the query's parts, else the uri's, else RFC 4516's defaults. */
export interface LdapSearch {
  secure: boolean;
  host: string;
  port: number;
  base: string;
  /** Empty: every user attribute. */
  attributes: string[];
  scope: LdapScope;
  filter: string;
  extensions: Map<string, { value: string; critical: boolean }>;
}

/** The query's parts over the uri's (4/modules/ds-core.md: "any components ... not specified in the query string are taken from the connection URI"). */
export function mergeLdapUrls(uri: LdapUrl, query: LdapUrl): LdapSearch {
  const secure = query.host !== undefined ? query.secure : uri.secure;
  return {
    secure,
    host: query.host ?? uri.host ?? 'localhost',
    port: query.port ?? uri.port ?? (secure ? 636 : 389),
    base: query.dn ?? uri.dn ?? '',
    attributes: query.attributes ?? uri.attributes ?? [],
    scope: query.scope ?? uri.scope ?? 'base',
    filter: query.filter ?? uri.filter ?? '(objectClass=*)',
    extensions: new Map([...uri.extensions, ...query.extensions]),
  };
}

/** RFC 4515 3: a value inside a filter, its `*`, `(`, `)`, `\` and NUL written as `\` and two hex digits. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The search with each `$name` replaced by `params[name]` (named-params.ts): in the filter escaped by RFC 4515, elsewhere as it is. */
export function bindLdapParams(search: LdapSearch, params: Readonly<Record<string, string>>): LdapSearch {
  const fill = (text: string, escape: (v: string) => string) => fillNamedParams(text, params, escape, (m) => new LdapUrlError(m));
  const same = (v: string) => v;
  const extensions = new Map([...search.extensions].map(([type, e]) => [type, { ...e, value: fill(e.value, same) }]));
  return { ...search, base: fill(search.base, same), filter: fill(search.filter, escapeFilterValue), attributes: search.attributes.map((a) => fill(a, same)), extensions };
}
