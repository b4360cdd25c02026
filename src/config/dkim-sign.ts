/**
 * Momentum's opendkim module in the configuration (Momentum 4 "opendkim –
 * Open Source DKIM"): the defaults ec_dkim_sign uses when a script's hash
 * does not override them (sieve-ref-ec-dkim-sign.md: "By default it uses
 * the configured parameters on the DKIM module configuration stanza").
 * Its `dkim_domain` scopes override them for mail whose responsible domain
 * (the From address's) they name: a selector, key or parent signing domain
 * (`base_domain`) of that domain's own. With `opendkim_sign` on (the top
 * level's, Momentum's default), the module also signs every message it has
 * a key for, or only those whose context holds `sign_condition`
 * (src/session/dkim-auto.ts). Without the scope the function's own
 * defaults apply (src/sievepp/functions/dkim-params.ts), and nothing is
 * signed unless a script asks.
 */
import { dkimParamProblem } from '../sievepp/functions/dkim-params.js';
import type { OptionSpec, ScopeSpec } from './schema.js';
import { opt } from './option.js';
import * as t from './values.js';
import type { ScopeInstance } from './walk.js';

/**
 * A value of `base` that ec_dkim_sign's parameter `param` also accepts
 * (functions/dkim-params.ts): a headerlist without From, or a selector
 * that is not one, is the configuration's error where it is written, as
 * the same value in a script is the script's, not a failure of every
 * message signed later.
 */
function dkimValue<T extends string | string[]>(param: string, base: t.ValueType<T>): t.ValueType<T> {
  return {
    label: base.label,
    parse(value, ctx) {
      const r = base.parse(value, ctx);
      if (!r.ok) return r;
      const v: string | string[] = r.value;
      const text = Array.isArray(v) ? v.filter((h) => h !== ',').join(':') : v;
      const problem = dkimParamProblem(param, text);
      // The configuration names the option before its problem: "headerlist: must name From".
      return problem ? { ok: false, problems: [{ message: problem.startsWith(`${param} `) ? problem.slice(param.length + 1) : problem, pos: value.pos }] } : r;
    },
  };
}

export const dkimSignOptions = {
  key: opt('key', t.filePath, '"/opt/msys/ecelerity/etc/conf/dkim/%{d}/%{s}.key"', 'The private key file (PEM), relative to the configuration file; `%{d}` is the signing domain, `%{s}` the selector.'),
  selector: opt('selector', dkimValue('selector', t.string), null, 'The selector (s=, RFC 6376 section 3.1) when the script gives none; unset, a script must give one.'),
  signingDomain: opt('signing_domain', dkimValue('signing_domain', t.string), null, 'The signing domain (d=) when the script gives none; unset, the domain of the From address.'),
  headerCanon: opt('header_canon', t.oneOf(['simple', 'relaxed'] as const), 'simple', 'Header canonicalization (RFC 6376 section 3.4.1, 3.4.2).'),
  bodyCanon: opt('body_canon', t.oneOf(['simple', 'relaxed'] as const), 'simple', 'Body canonicalization (RFC 6376 section 3.4.3, 3.4.4).'),
  digest: opt('digest', t.oneOf(['rsa-sha256', 'rsa-sha1'] as const), 'rsa-sha256', 'The signing algorithm (RFC 6376 section 3.3).'),
  headerlist: opt('headerlist', dkimValue('headerlist', t.listOf(t.string)), null, 'The header fields to sign, e.g. `( "From" "To" "Subject" "Date" )`; must name From. Unset: those RFC 6376 section 5.4.1 recommends.'),
  bodyLengthLimit: opt('body_length_limit', t.boolean, 'false', 'State the signed body length in an l= tag (RFC 6376 section 3.5; see its section 8.2 before using it).'),
  lifetime: opt('lifetime', t.integer(0, 876_000), '0', 'Hours a signature stays valid (x= tag); 0 for no expiry.'),
  signCondition: opt('sign_condition', t.string, null, 'With `opendkim_sign` on, sign only a message whose connection or message context holds this variable, e.g. `auth_user` (set by SMTP AUTH); unset, every message whose From domain has a key.'),
};

/** `dkim_domain` (4/modules/opendkim.md): only here, the parent domain to sign in; the other options override the scope's. */
const baseDomain = opt('base_domain', dkimValue('signing_domain', t.string), null, 'The signing domain (d=) for this domain\'s mail, such as its parent: example.com for corp.example.com.');
/** The scope's own options again, without defaults: what a dkim_domain scope does not write is the opendkim scope's. */
const inherited = <T>(spec: OptionSpec<T>): OptionSpec<T> => ({ ...spec, default: null, doc: `${spec.doc} Unset: the \`opendkim\` scope's.` });
const domainOptions = {
  key: inherited(dkimSignOptions.key),
  selector: inherited(dkimSignOptions.selector),
  headerCanon: inherited(dkimSignOptions.headerCanon),
  bodyCanon: inherited(dkimSignOptions.bodyCanon),
  digest: inherited(dkimSignOptions.digest),
  headerlist: inherited(dkimSignOptions.headerlist),
  bodyLengthLimit: inherited(dkimSignOptions.bodyLengthLimit),
  lifetime: inherited(dkimSignOptions.lifetime),
};
const DOMAIN_OPTIONS = [domainOptions.key, domainOptions.selector, baseDomain, domainOptions.headerCanon, domainOptions.bodyCanon, domainOptions.digest, domainOptions.headerlist, domainOptions.bodyLengthLimit, domainOptions.lifetime];

export const dkimDomainScope: ScopeSpec = {
  name: 'dkim_domain', doc: 'The `opendkim` options for mail whose responsible domain (its From address\'s) is this one: what it sets overrides the scope around it.', repeat: 'by-name',
  names: { min: 1, max: 1, label: 'domain', check: (n) => (/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/i.test(n.text) ? undefined : `expected a domain name such as example.com, found '${n.text}'`) },
  options: DOMAIN_OPTIONS, scopes: [],
};

export const dkimSignScope: ScopeSpec = {
  name: 'opendkim', doc: 'Defaults for the DKIM signatures `ec_dkim_sign` asks for (RFC 6376; docs/sieve-reference.md).', repeat: 'once',
  names: { min: 0, max: 1, label: 'instance name' }, options: Object.values(dkimSignOptions), scopes: [dkimDomainScope],
};

/** ec_dkim_sign's parameter name for each option of the scopes. */
const PARAM_OF = new Map<OptionSpec, string>([
  [domainOptions.key, 'keyfile'], [domainOptions.selector, 'selector'], [baseDomain, 'signing_domain'],
  [domainOptions.headerCanon, 'header_canon'], [domainOptions.bodyCanon, 'body_canon'], [domainOptions.digest, 'digest'],
  [domainOptions.headerlist, 'headerlist'], [domainOptions.bodyLengthLimit, 'body_length_limit'], [domainOptions.lifetime, 'lifetime'],
]);

/** An option's value as ec_dkim_sign's parameter takes it. */
function paramValue(value: unknown): string {
  // The opendkim page writes the list with commas, `("from", "to")`, which the list syntax keeps as items of their own.
  return Array.isArray(value) ? value.filter((h) => h !== ',').join(':') : String(value);
}

/**
 * The `dkim_domain` scopes, by domain in lower case: each with only the
 * options it writes, under ec_dkim_sign's parameter names; null without any.
 */
export function buildDkimDomains(root: ScopeInstance): Map<string, Record<string, string>> | null {
  const s = root.children.find((c) => c.valid && c.spec === dkimSignScope);
  const scopes = s?.children.filter((c) => c.valid && c.spec === dkimDomainScope) ?? [];
  if (!scopes.length) return null;
  const out = new Map<string, Record<string, string>>();
  for (const d of scopes) {
    const values: Record<string, string> = {};
    for (const spec of DOMAIN_OPTIONS) {
      const v = d.options.get(spec.name.toLowerCase())?.value;
      if (v !== undefined && v !== null) values[PARAM_OF.get(spec)!] = paramValue(v);
    }
    out.set(d.names[0]!.text.toLowerCase().replace(/\.$/, ''), values);
  }
  return out;
}

/** `opendkim_sign` (4/config/ref-opendkim-sign.md): at the top level, Momentum's default is on. */
export const opendkimSignOption = opt('opendkim_sign', t.boolean, 'true', 'With an `opendkim` scope, sign every accepted message whose From domain has a selector and a key, without a script asking (see its `sign_condition`); `false`: only what `ec_dkim_sign` asks for.');

/** The module's own signing: on when the scope is there and opendkim_sign is; null otherwise. */
export function buildDkimAutoSign(root: ScopeInstance, defaults: <T>(spec: OptionSpec<T>) => T | null): { condition: string | null } | null {
  const s = root.children.find((c) => c.valid && c.spec === dkimSignScope);
  if (!s) return null;
  const on = (root.options.get(opendkimSignOption.name)?.value as boolean | undefined) ?? defaults(opendkimSignOption);
  if (!on) return null;
  return { condition: (s.options.get(dkimSignOptions.signCondition.name)?.value as string | undefined) ?? null };
}

/** The scope as ec_dkim_sign's parameter names (MomentumHost.dkim); null without the scope. */
export function buildDkimSign(root: ScopeInstance, defaults: <T>(spec: OptionSpec<T>) => T | null): Record<string, string> | null {
  const s = root.children.find((c) => c.valid && c.spec === dkimSignScope);
  if (!s) return null;
  const v = <T>(spec: OptionSpec<T>): T | null => (s.options.get(spec.name.toLowerCase())?.value as T | undefined) ?? defaults(spec);
  const out: Record<string, string> = {};
  const set = (name: string, value: string | number | boolean | null) => {
    if (value !== null) out[name] = String(value);
  };
  set('keyfile', v(dkimSignOptions.key));
  set('selector', v(dkimSignOptions.selector));
  set('signing_domain', v(dkimSignOptions.signingDomain));
  set('header_canon', v(dkimSignOptions.headerCanon));
  set('body_canon', v(dkimSignOptions.bodyCanon));
  set('digest', v(dkimSignOptions.digest));
  // The opendkim page writes the list with commas, `("from", "to")`, which the list syntax keeps as items of their own.
  set('headerlist', v(dkimSignOptions.headerlist)?.filter((h) => h !== ',').join(':') ?? null);
  set('body_length_limit', v(dkimSignOptions.bodyLengthLimit));
  set('lifetime', v(dkimSignOptions.lifetime));
  return out;
}
