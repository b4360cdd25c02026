/**
 * The product's Sieve++ functions: the Sieve core's built-ins plus the
 * functions other modules declare (CBV's smtp_callback_verify, the DKIM
 * results' ec_dkim_domains), and the
 * services those functions find at run time (SieveHost.services). The
 * CLI, the server and the dry-run runner compile with these.
 */
import { smtpCallbackVerify, CBV_SERVICE, type CbvVerifier } from '../cbv/sieve-function.js';
import { RECIPIENT_VERIFY_SERVICE, smtpRecipientVerify } from '../delivery/call-ahead-function.js';
import { ecDkimDomains, ecDkimResponsibleDomain } from '../auth/sieve-functions.js';
import { builtinFunctions, type FunctionRegistry } from '../sievepp/index.js';

let product: FunctionRegistry | undefined;

export function productFunctions(): FunctionRegistry {
  return (product ??= builtinFunctions().with(smtpCallbackVerify, smtpRecipientVerify, ecDkimDomains, ecDkimResponsibleDomain));
}

/** SieveHost.services for the product's functions: the CBV engine and the recipient verifier (or stand-ins) under their names. */
export function functionServices(cbv: CbvVerifier | undefined, recipients?: CbvVerifier): Readonly<Record<string, unknown>> {
  return { ...(cbv ? { [CBV_SERVICE]: cbv } : {}), ...(recipients ? { [RECIPIENT_VERIFY_SERVICE]: recipients } : {}) };
}
