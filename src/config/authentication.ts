/**
 * Message authentication in the configuration (docs/authentication.md):
 * Momentum's module scopes `spf_v1` and `dkim_validate`, a `dmarc` scope,
 * and an `authentication` scope for what they share (the authserv-id, the
 * DNS servers, the deadline). Nothing is checked unless one of the module
 * scopes is present, so the embedded defaults need no DNS.
 *
 * `dmarc` needs SPF's and DKIM's verdicts (RFC 7489 4.2): with it, both run
 * even without their own scope, with their defaults.
 */
import type { OptionSpec, ScopeSpec } from './schema.js';
import type { HostPort } from './values.js';
import { opt } from './option.js';
import * as t from './values.js';
import type { ScopeInstance } from './walk.js';

export const spfOptions = {
  contextVariable: opt('context_variable', t.string, '"spf_status"', 'The message context variable that holds the SPF result (Momentum\'s option); `spf_status` is set as well.'),
  addHeaders: opt('add_headers', t.boolean, 'true', 'Add a `Received-SPF` header field (RFC 7208 section 9.1) at DATA.'),
  addAuthenticationResults: opt('add_authentication_results', t.boolean, 'true', 'Put the SPF results in the `Authentication-Results` header field.'),
  heloCheck: opt('helo_check', t.boolean, 'true', 'Also check the HELO/EHLO name (RFC 7208 section 2.3) into `spf_helo_status`.'),
};
export const dkimOptions = {
  minKeyBits: opt('min_key_bits', t.integer(512, 16384), '1024', 'Smallest RSA key accepted; a signature with a smaller key is `policy` (RFC 8301 section 3.2).'),
  arc: opt('arc', t.boolean, 'true', 'Also validate the ARC chain (RFC 8617) into `arc_status`.'),
};
export const authenticationOptions = {
  authservId: opt('authserv_id', t.string, null, 'The authserv-id of our `Authentication-Results` (RFC 8601 section 2.5); unset uses the listener host name.'),
  dnsServers: opt('dns_servers', t.listOf(t.hostPort(53)), '( )', 'DNS servers for SPF, DKIM, DMARC and ARC look-ups, `ip` or `ip:port`; empty uses `smtp_cbv`\'s `dns_servers`, else the system resolvers.'),
  dnsTimeout: opt('dns_timeout', t.seconds(true), '2', 'Deadline of one DNS query try.'),
  dnsTries: opt('dns_tries', t.integer(1, 10), '2', 'Tries per DNS query.'),
  timeout: opt('timeout', t.seconds(true), '20', 'Deadline of the checks of one phase (SPF at MAIL FROM; DKIM, ARC and DMARC at DATA); a check past it is `temperror`.'),
};

const optionalName = { min: 0, max: 1, label: 'instance name' };
export const spfScope: ScopeSpec = {
  name: 'spf_v1', doc: 'SPF (RFC 7208) of the MAIL FROM and HELO identities, at MAIL FROM (docs/authentication.md).', repeat: 'once',
  names: optionalName, options: Object.values(spfOptions), scopes: [],
};
export const dkimScope: ScopeSpec = {
  name: 'dkim_validate', doc: 'DKIM signatures (RFC 6376) and the ARC chain (RFC 8617), at DATA (docs/authentication.md).', repeat: 'once',
  names: optionalName, options: Object.values(dkimOptions), scopes: [],
};
export const dmarcScope: ScopeSpec = {
  name: 'dmarc', doc: 'DMARC (RFC 7489) of the From domain, at DATA; turns SPF and DKIM on (docs/authentication.md).', repeat: 'once',
  names: optionalName, options: [], scopes: [],
};
export const authenticationScope: ScopeSpec = {
  name: 'authentication', doc: 'What the SPF, DKIM and DMARC checks share: authserv-id, DNS, deadline (docs/authentication.md).', repeat: 'once',
  names: { min: 0, max: 0, label: 'none' }, options: Object.values(authenticationOptions), scopes: [],
};
export const authenticationScopes = [spfScope, dkimScope, dmarcScope, authenticationScope];

export interface AuthenticationConfig {
  spf: { contextVariable: string; receivedSpf: boolean; authResults: boolean; helo: boolean } | null;
  dkim: { minKeyBits: number; arc: boolean } | null;
  dmarc: boolean;
  authservId: string | null;
  /** `ip:port` strings; empty: smtp_cbv's, else the system's. */
  dnsServers: string[];
  dnsTimeoutMs: number;
  dnsTries: number;
  timeoutMs: number;
}

/** Null when no module scope is present: nothing is checked. */
export function buildAuthentication(root: ScopeInstance, defaults: <T>(spec: OptionSpec<T>) => T | null): AuthenticationConfig | null {
  const child = (spec: ScopeSpec) => root.children.find((c) => c.valid && c.spec === spec);
  const spf = child(spfScope);
  const dkim = child(dkimScope);
  const dmarc = !!child(dmarcScope);
  if (!spf && !dkim && !dmarc) return null;
  const shared = child(authenticationScope);
  const v = <T>(spec: OptionSpec<T>, s: ScopeInstance | undefined): T => (s?.options.get(spec.name.toLowerCase())?.value as T | undefined) ?? (defaults(spec) as T);
  return {
    spf: spf || dmarc ? { contextVariable: v(spfOptions.contextVariable, spf), receivedSpf: v(spfOptions.addHeaders, spf), authResults: v(spfOptions.addAuthenticationResults, spf), helo: v(spfOptions.heloCheck, spf) } : null,
    dkim: dkim || dmarc ? { minKeyBits: v(dkimOptions.minKeyBits, dkim), arc: v(dkimOptions.arc, dkim) } : null,
    dmarc,
    authservId: shared?.options.get('authserv_id')?.value as string | undefined ?? null,
    dnsServers: v<HostPort[]>(authenticationOptions.dnsServers, shared).map((hp) => (hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`)),
    dnsTimeoutMs: v(authenticationOptions.dnsTimeout, shared),
    dnsTries: v(authenticationOptions.dnsTries, shared),
    timeoutMs: v(authenticationOptions.timeout, shared),
  };
}
