/**
 * The message authentication service's part of start-up and reload
 * (docs/authentication.md): created when the configuration first has
 * spf_v1, dkim_validate or dmarc, its options swapped in place by a reload
 * (transactions in flight keep what they learnt), its resolver rebuilt
 * only when the DNS settings change, and dropped when the modules go.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { loadChecks } from '../auth/checks.js';
import { createAuthResolve } from '../auth/dns.js';
import type { Config } from '../config/index.js';
import { MessageAuthentication } from '../session/message-authentication.js';
import type { SessionServices } from '../session/session.js';

const dnsKeys = new WeakMap<MessageAuthentication, unknown>();

export function reconfigureAuthentication(services: SessionServices, config: Config, logger: Logger): void {
  const a = config.authentication;
  if (!a) {
    if (services.authentication) logger.info({ event: 'reconfigure', service: 'authentication' }, 'spf_v1, dkim_validate and dmarc removed: no more checks');
    delete services.authentication;
    return;
  }
  // The product's one DNS setting when the authentication scope names none: smtp_cbv's (docs/authentication.md).
  const servers = a.dnsServers.length ? a.dnsServers : (config.smtpCbv?.dnsServers ?? []);
  const dns = { servers, timeoutMs: a.dnsTimeoutMs, tries: a.dnsTries };
  const options = { spf: a.spf, dkim: a.dkim, dmarc: a.dmarc, authservId: a.authservId, timeoutMs: a.timeoutMs };
  const current = services.authentication;
  if (!current) {
    services.authentication = new MessageAuthentication(options, createAuthResolve(dns), logger);
    dnsKeys.set(services.authentication, dns);
    return;
  }
  current.options = options;
  // A reload that turns the checks on loads their library now, not in the first session after it.
  if (current.active) loadChecks();
  if (!isDeepStrictEqual(dnsKeys.get(current), dns)) {
    current.resolve = createAuthResolve(dns);
    dnsKeys.set(current, dns);
  }
}
