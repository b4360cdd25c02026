/**
 * The opendkim module's own signing (Momentum 4 "opendkim – Open Source
 * DKIM", "opendkim_sign"): with the `opendkim` scope configured and
 * `opendkim_sign` on (Momentum's default), every accepted message whose
 * responsible domain (the domain of its From address) has a selector and
 * a readable key is signed, without a script asking; with `sign_condition`,
 * only a message whose connection or message context holds that variable
 * (`auth_user` after SMTP AUTH, the page's advice for most sites).
 *
 * The parameters are the scope's, then the responsible domain's
 * `dkim_domain` scope's, as ec_dkim_sign takes them; a message a script
 * signed with ec_dkim_sign is not signed a second time. What cannot be
 * signed (no From domain, no selector, no key file for the domain) is left
 * unsigned, not refused: the module signs the mail it has keys for.
 */
import { parseAddressList } from '../sieve/runtime/address.js';
import { type HeaderField, parseMessage } from '../sieve/runtime/message.js';
import { DEFAULT_KEYFILE, dkimParamProblem, dkimRequest, type DkimRequest } from '../sievepp/functions/dkim-params.js';
import { signingKey } from '../sievepp/functions/dkim-keys.js';
import type { MomentumHost } from '../sievepp/host.js';

export interface AutoSigning {
  /** The context variable that must be set for a message to be signed; null: every message. */
  condition: string | null;
  /** The opendkim scope under ec_dkim_sign's parameter names (src/config/dkim-sign.ts). */
  defaults: Readonly<Record<string, string>>;
  /** Its dkim_domain scopes, by lower-case domain. */
  domains?: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/**
 * The header fields of a message's octets, parsed from its header section
 * alone (up to the empty line): a signer needs only From, and a message of
 * megabytes is not parsed whole on the event loop for it.
 */
export function headerFields(octets: Buffer): HeaderField[] {
  const crlf = octets.indexOf('\r\n\r\n');
  const lf = octets.indexOf('\n\n');
  // Through the last field's line end, without the empty line.
  const cut = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 2 : lf >= 0 ? lf + 1 : octets.length;
  return parseMessage(octets.subarray(0, cut).toString('utf8')).headers;
}

/** The responsible domain: the first From address's, lower case, without a final dot. */
function responsibleDomain(headers: readonly HeaderField[]): string | undefined {
  const from = headers.find((h) => h.lname === 'from');
  const domain = from ? parseAddressList(from.value)?.[0]?.domain : undefined;
  return domain ? domain.toLowerCase().replace(/\.$/, '') : undefined;
}

/**
 * The signature the module makes for this message, or why it makes none
 * (for the debug log): `skipped` when the condition is not met, a reason
 * when the domain cannot be signed for.
 */
export async function automaticSignature(
  a: AutoSigning,
  headers: readonly HeaderField[],
  contexts: { connection: ReadonlyMap<string, string>; message: ReadonlyMap<string, string> | undefined },
  now: number,
): Promise<{ request: DkimRequest } | { skipped: string }> {
  if (a.condition !== null && !contexts.connection.has(a.condition) && !contexts.message?.has(a.condition)) return { skipped: `sign_condition ${a.condition} is not set` };
  const domain = responsibleDomain(headers);
  if (!domain) return { skipped: 'no From domain' };
  const p = new Map<string, string>();
  for (const [k, v] of [...Object.entries(a.defaults), ...Object.entries(a.domains?.get(domain) ?? {})]) {
    // Checked when the configuration loaded (src/config/dkim-sign.ts); a value that still fails is not used.
    if (dkimParamProblem(k, v) === undefined) p.set(k.toLowerCase() === 'base_domain' ? 'signing_domain' : k.toLowerCase(), v);
  }
  const signingDomain = (p.get('signing_domain') ?? domain).replace(/\.$/, '');
  const selector = p.get('selector');
  if (!selector) return { skipped: `no selector for ${signingDomain}` };
  const file = (p.get('keyfile') ?? DEFAULT_KEYFILE).replace(/%\{d\}/g, signingDomain).replace(/%\{s\}/g, selector);
  const key = await signingKey(file, `selector ${selector} of ${signingDomain}`, now);
  if ('problem' in key) return { skipped: key.problem };
  return { request: dkimRequest(p, signingDomain, selector, key.pem) };
}

/** The module's signing as the services configure it (the Momentum host's DKIM settings); undefined when it is off. */
export function autoSigning(services: { momentum?: Partial<MomentumHost> }): AutoSigning | undefined {
  const m = services.momentum;
  if (!m?.dkimAutoSign) return undefined;
  return { condition: m.dkimAutoSign.condition, defaults: m.dkim ?? {}, ...(m.dkimDomains ? { domains: m.dkimDomains } : {}) };
}
