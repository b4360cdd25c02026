/**
 * ec_dkim_sign's parameters (sieve-ref-ec-dkim-sign.md), as the script's
 * hash names them, checked one by one: the same check serves the compiler
 * (a literal `hash_set $p "selector" "..."`) and the run (a value made at
 * run time), so a name or value is refused alike at both times.
 *
 * Defaults are the opendkim module's (Momentum 4 "opendkim – Open Source
 * DKIM"): simple/simple canonicalisation, rsa-sha256, no body length
 * limit, no lifetime. The key file is the DKIM module's `key`, whose
 * %{d} and %{s} expand to the signing domain and the selector
 * ("dkim – DomainKeys Identified Mail Signatures"); its default is the
 * directory those pages recommend. A host may set its own defaults under
 * the same names (MomentumHost.dkim, docs/configuration.md).
 */

/** Where Momentum's pages keep DKIM keys: `<dir>/<domain>/<selector>.key`. */
export const DEFAULT_KEYFILE = '/opt/msys/ecelerity/etc/conf/dkim/%{d}/%{s}.key';

/** One signature to add when the message is stored, as the session's signer takes it (src/session/dkim-signing.ts). */
export interface DkimRequest {
  /** d= (RFC 6376 3.5). */
  signingDomain: string;
  /** s= (RFC 6376 3.1). */
  selector: string;
  /** The private key, PEM. */
  privateKey: string;
  /** c=: header/body, each simple or relaxed (RFC 6376 3.4). */
  canonicalization: string;
  /** a=: rsa-sha256 or rsa-sha1 (RFC 6376 3.3). */
  algorithm: string;
  /** The fields to sign, colon-separated; absent: mailauth's list, RFC 6376 5.4.1's recommended fields. */
  headerList?: string;
  /** l= (RFC 6376 3.5): the length of the body signed is stated. */
  bodyLengthLimit: boolean;
  /** x= (RFC 6376 3.5): hours from signing; 0 for none. */
  lifetimeHours: number;
}

/** The names the hash may hold; base_domain and signing_domain are synonyms (the Momentum page says so). */
export const DKIM_PARAMS = [
  'base_domain',
  'signing_domain',
  'header_canon',
  'body_canon',
  'digest',
  'headerlist',
  'identity',
  'selector',
  'keyfile',
  'keybuf',
  'body_length_limit',
  'lifetime',
] as const;

const CANONS = ['simple', 'relaxed'];
const DIGESTS = ['rsa-sha256', 'rsa-sha1'];
const BOOLEANS = ['true', 'false', 'yes', 'no', '1', '0'];
/** RFC 6376 3.1: a selector is dot-separated sub-domain labels. */
const SELECTOR = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
/** RFC 6376 3.5 d=: a domain name (LDH labels; underscores are seen in practice). */
const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*\.?$/;
/** One headerlist entry: an RFC 5322 2.2 field name, with the DKIM module's ?, * or + after it. */
const HEADER_ENTRY = /^[!-9;-~]+?[?*+]?$/;

/** The header list's entries: the DKIM module's colon-separated form, or opendkim's commas and spaces. */
export function headerEntries(list: string): string[] {
  return list.split(/[:,\s]+/).filter((e) => e !== '');
}

/** Why `value` is not a valid `name` parameter; undefined when it is. No value (one made at run time): the name alone is checked. */
export function dkimParamProblem(name: string, value?: string): string | undefined {
  const n = name.toLowerCase();
  if (!(DKIM_PARAMS as readonly string[]).includes(n)) return `unknown parameter '${name}' (known: ${DKIM_PARAMS.join(', ')})`;
  if (value === undefined && n !== 'identity') return undefined;
  const v = (value ?? '').trim();
  switch (n) {
    case 'base_domain':
    case 'signing_domain':
      return DOMAIN.test(v) ? undefined : `${n} '${value}' is not a domain name`;
    case 'selector':
      return SELECTOR.test(v) ? undefined : `selector '${value}' is not a DKIM selector (RFC 6376 3.1: dot-separated labels)`;
    case 'header_canon':
    case 'body_canon':
      return CANONS.includes(v.toLowerCase()) ? undefined : `${n} '${value}' is neither simple nor relaxed`;
    case 'digest':
      return DIGESTS.includes(v.toLowerCase()) ? undefined : `digest '${value}' is neither rsa-sha256 nor rsa-sha1`;
    case 'body_length_limit':
      return BOOLEANS.includes(v.toLowerCase()) ? undefined : `body_length_limit '${value}' is neither true nor false`;
    case 'lifetime':
      return /^[0-9]{1,6}$/.test(v) ? undefined : `lifetime '${value}' is not a number of hours`;
    case 'headerlist': {
      const entries = headerEntries(v);
      const bad = entries.find((e) => !HEADER_ENTRY.test(e));
      if (bad !== undefined) return `headerlist entry '${bad}' is not a header field name`;
      // RFC 6376 5.4: the From field must be signed.
      return entries.some((e) => e.replace(/[?*+]$/, '').toLowerCase() === 'from') ? undefined : 'headerlist must name From (RFC 6376 5.4)';
    }
    case 'keyfile': {
      // Momentum's pages write absolute paths; a relative one would depend on the server's working directory.
      if (!v.startsWith('/')) return `keyfile '${value}' is not an absolute path`;
      const macro = /%\{([^}]*)\}/.exec(v.replace(/%\{[ds]\}/g, ''));
      return macro ? `keyfile macro '%{${macro[1]}}' is unknown (only %{d}, the signing domain, and %{s}, the selector)` : undefined;
    }
    case 'keybuf':
      return /^[A-Za-z0-9+/]+={0,2}$/.test(v) ? undefined : 'keybuf must be the base64 text of a PEM key, on one line, without its BEGIN and END lines';
    case 'identity':
      // mailauth, which signs, writes no i= tag: refused rather than silently left out.
      return 'identity (the i= tag) is not supported: the signature carries no i= and verifiers use @ the signing domain (RFC 6376 3.5)';
  }
  return undefined;
}

/** The signature the parameters `p` (by lower-case name) ask for, with the key and names found for it. */
export function dkimRequest(p: ReadonlyMap<string, string>, signingDomain: string, selector: string, privateKey: string): DkimRequest {
  return {
    signingDomain,
    selector,
    privateKey,
    canonicalization: `${(p.get('header_canon') ?? 'simple').toLowerCase()}/${(p.get('body_canon') ?? 'simple').toLowerCase()}`,
    algorithm: (p.get('digest') ?? 'rsa-sha256').toLowerCase(),
    ...(p.has('headerlist') ? { headerList: headerEntries(p.get('headerlist')!).map((e) => e.replace(/[?*+]$/, '')).join(':') } : {}),
    bodyLengthLimit: /^(true|yes|1)$/i.test(p.get('body_length_limit') ?? 'false'),
    lifetimeHours: Number(p.get('lifetime') ?? '0'),
  };
}
