/**
 * Momentum's DKIM functions (sieve-ref-ec-dkim-domains.md,
 * sieve-ref-ec-dkim-responsible-domain.md) over what dkim_validate found
 * (docs/authentication.md). Declared for the product's registry
 * (src/policy/functions.ts) as smtp_callback_verify is: the Sieve++ layer
 * knows no DKIM.
 */
import { parseAddressList } from '../sieve/runtime/address.js';
import { decodedHeaderValue, headerValues } from '../sieve/runtime/message.js';
import type { SieveFunction } from '../sievepp/index.js';
import { sessionOf } from '../sievepp/host.js';

/** `ec_dkim_domains`: the signing domains (d=) of the signatures that verified, a list; empty without dkim_validate. */
export const ecDkimDomains: SieveFunction = {
  name: 'ec_dkim_domains',
  uses: { value: true },
  params: [],
  call: (_b, rt) => (sessionOf(rt).message.get('dkim_domains') ?? '').split(' ').filter((d) => d !== ''),
};

/**
 * `ec_dkim_responsible_domain`: the domain that answers for the message,
 * the one a signature should come from: Sender's when there is one, else
 * From's (the first address), lower case; "" when neither parses.
 */
export const ecDkimResponsibleDomain: SieveFunction = {
  name: 'ec_dkim_responsible_domain',
  uses: { value: true },
  needsMessage: true,
  params: [],
  call(b, rt) {
    const m = rt.requireMessage(b.node.pos);
    for (const field of ['sender', 'from']) {
      for (const value of headerValues(m, field)) {
        const domain = parseAddressList(decodedHeaderValue(value))?.find((a) => a.domain)?.domain;
        if (domain) return domain.toLowerCase();
      }
    }
    return '';
  },
};
