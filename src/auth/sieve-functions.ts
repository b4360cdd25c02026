/**
 * Momentum's DKIM functions (sieve-ref-ec-dkim-domains.md,
 * sieve-ref-ec-dkim-responsible-domain.md) over what dkim_validate found
 * (docs/authentication.md). Declared for the product's registry
 * (src/policy/functions.ts) as smtp_callback_verify is: the Sieve++ layer
 * knows no DKIM.
 */
import { firstAddressDomain } from '../sieve/runtime/codec-ops.js';
import { codecInWorker, inWorker } from '../sieve/runtime/header-codec.js';
import { headerValues } from '../sieve/runtime/message.js';
import type { Runtime } from '../sieve/runtime/runtime.js';
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
 *
 * Each value is parsed whole as an address list, its encoded-words left as
 * they are (firstAddressDomain, RFC 2047 section 5): a client can send a
 * From of megabytes, one call of up to a second that would hold every
 * session, so in a run that can wait a large value is read in the match
 * worker (docs/sieve-interpreter.md, "CPU budget and time slices"),
 * charged to the run and stopped at its budget. A start of the value would
 * not do: the first address can end anywhere in it, after a display name
 * or comment of any length (RFC 5322 3.4), and a list that does not parse
 * to its end has no address. On the event loop the work is charged by the
 * value's length.
 */
export const ecDkimResponsibleDomain: SieveFunction = {
  name: 'ec_dkim_responsible_domain',
  uses: { value: true },
  needsMessage: true,
  params: [],
  call(b, rt) {
    const m = rt.requireMessage(b.node.pos);
    return responsibleDomain([...headerValues(m, 'sender'), ...headerValues(m, 'from')], 0, rt);
  },
};

/** The first domain of `values` from the i-th on, lower case; a Promise when a large value is read in a worker or the slice ends. */
function responsibleDomain(values: string[], i: number, rt: Runtime): string | Promise<string> {
  for (; i < values.length; i++) {
    const value = values[i]!;
    if (inWorker(value, rt.budget)) {
      const next = i + 1;
      return codecInWorker({ op: 'first-address-domain', value }, rt.budget).then((d) => (d ? d.toLowerCase() : responsibleDomain(values, next, rt)));
    }
    const domain = firstAddressDomain(value);
    // Charged once read, so that the clock this reads counts the parse: many
    // fields just under the worker's size are read in slices, not one step.
    rt.budget.charge(value.length);
    if (domain) return domain.toLowerCase();
    if (rt.budget.yieldDue) {
      const next = i + 1;
      return rt.budget.pause().then(() => responsibleDomain(values, next, rt));
    }
  }
  return '';
}
