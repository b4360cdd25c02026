/**
 * The product's Sieve++ functions: the Sieve core's built-ins plus the
 * functions other modules declare (CBV's smtp_callback_verify). The CLI,
 * the server and the dry-run runner compile with these, and give scripts
 * the services they call through `policyHost`. A server run, in short:
 *
 *   const { script } = compileSieve(text, { dialect, phase, functions: productFunctions() });
 *   const host = policyHost({ cbv: engine }, { log, incrementCounter, dnsLookup: createDnsLookup(), maxTarpitSeconds });
 *   await execute(script, { message, envelope, phase,
 *     connectionContext: session.connection, messageContext: session.message }, host);
 *
 * A dry run without network passes a stand-in: `{ cbv: { verify: async () => verdict } }`
 * and `dnsLookup: async (name, type) => answers[name] ?? []`.
 */
import { smtpCallbackVerify, CBV_SERVICE, type CbvVerifier } from '../cbv/sieve-function.js';
import { builtinFunctions, type FunctionRegistry } from '../sievepp/index.js';
import type { MomentumHost } from '../sievepp/host.js';

let product: FunctionRegistry | undefined;

export function productFunctions(): FunctionRegistry {
  return (product ??= builtinFunctions().with(smtpCallbackVerify));
}

export interface PolicyServices {
  /** The CBV engine (createCbvEngine) or any stand-in with `verify`. */
  cbv?: CbvVerifier;
}

/** A SieveHost carrying the services; `base` keeps its other callbacks (log, dnsLookup...). */
export function policyHost(services: PolicyServices, base: MomentumHost = {}): MomentumHost {
  return { ...base, services: { ...base.services, ...(services.cbv ? { [CBV_SERVICE]: services.cbv } : {}) } };
}
