/**
 * The smtp_cbv scope as the CBV engine's options (CbvOptions in
 * src/cbv/options.ts): same meanings, the engine's names and units
 * (its `timeout` and TTLs are seconds, its other durations milliseconds).
 *
 * No import from src/cbv: the config layer stays independent of the engine,
 * and the object literal is checked structurally where it is passed to
 * `createCbvEngine`, so a renamed engine option fails to compile there.
 * Redis (`redisUrl`) and logging are wired by the server, not mapped here.
 */
import type { SmtpCbvConfig } from './types.js';

const seconds = (ms: number) => ms / 1000;

export function cbvEngineOptions(c: SmtpCbvConfig) {
  return {
    dnsServers: c.dnsServers.length ? [...c.dnsServers] : undefined,
    dnsTimeoutMs: c.dnsTimeoutMs,
    dnsTries: c.dnsTries,
    port: c.port,
    localAddress: c.sourceAddress ?? undefined,
    allowTargets: [...c.allowTargets],
    helo: c.helo ?? undefined,
    mailFrom: c.mailfrom,
    map: { ...c.map },
    mapSubdomains: c.mapSubdomains,
    ownDomains: [...c.ownDomains],
    timeout: seconds(c.timeoutMs),
    connectTimeoutMs: c.connectTimeoutMs,
    greetingTimeoutMs: c.greetingTimeoutMs,
    commandTimeoutMs: c.commandTimeoutMs,
    maxHosts: c.maxHosts,
    startTls: c.starttls,
    positiveTtl: seconds(c.cache.positiveTtlMs),
    negativeTtl: seconds(c.cache.negativeTtlMs),
    domainTtl: seconds(c.cache.domainTtlMs),
    cacheSize: c.cache.size,
    maxConcurrent: c.limits.maxConcurrency,
    maxConcurrentPerDomain: c.limits.maxConcurrencyPerDomain,
    ratePerDomain: c.limits.domainRateLimit,
    rateWindow: seconds(c.limits.domainRateIntervalMs),
    catchAllCheck: c.catchAllCheck,
    postmasterCheck: c.postmasterCheck,
  };
}
