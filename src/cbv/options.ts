/**
 * The engine's options: plain typed values with documented defaults, so that
 * the config issue can map ecelerity.conf onto them (docs/cbv.md lists each).
 *
 * Timeouts are short by default because an SMTP client is waiting on the
 * other side of every check (docs/cbv.md).
 */
import type { Logger } from 'pino';
import type { CbvStore } from './cache.js';
import type { NextHopTargets } from './probe.js';
import type { CbvObserver, ProbeFlights, SharedLimits } from './shared.js';

export interface CbvOptions {
  /** DNS servers as `HOST` or `HOST:PORT` (IPv6: `[::1]:53`); default: the system's. */
  dnsServers?: string[];
  /** Per-query DNS timeout in milliseconds (c-ares `timeout`). Default 2000. */
  dnsTimeoutMs?: number;
  /** DNS tries per query (c-ares `tries`). Default 2. */
  dnsTries?: number;
  /** SMTP port of the remote. Default 25. */
  port?: number;
  /** Local address to connect from. Default: the system's choice. */
  localAddress?: string;
  /** CIDRs that the target guard lets through although they are not global unicast. Default none. */
  allowTargets?: string[];
  /** Name for EHLO/HELO. Default: os.hostname(). */
  helo?: string;
  /** MAIL FROM of the probe, '' = the null sender `<>` (docs/cbv.md `mailfrom`). Default ''. */
  mailFrom?: string;
  /** Sender domain -> probe domain, exact and case-insensitive (docs/cbv.md `map`). Default none. */
  map?: Record<string, string>;
  /** Whether `map` keys also match subdomains of the sender domain. Default false. */
  mapSubdomains?: boolean;
  /** Domains we receive mail for: never probed (no loops). Default none. */
  ownDomains?: string[];

  /** Overall deadline of one check in seconds (docs/cbv.md `timeout`). Default 30. */
  timeout?: number;
  /** TCP connect timeout, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Wait for the 220 greeting, ms. Default 10000. */
  greetingTimeoutMs?: number;
  /** Wait for the reply to each command, ms. Default 10000. */
  commandTimeoutMs?: number;
  /** How long to wait for the reply to QUIT before closing, ms. Default 500. */
  quitWaitMs?: number;
  /** Hosts (IP addresses) tried at most per check. Default 3. */
  maxHosts?: number;
  /** Try STARTTLS when offered; on failure the host is retried in clear. Default true. */
  startTls?: boolean;
  /** Longest reply line accepted, bytes (RFC 5321 4.5.3.1.5 says 512). Default 2048. */
  maxLineLength?: number;
  /** Largest reply accepted (all lines), bytes. Default 16384. */
  maxReplyBytes?: number;

  /** Address cache TTL for a positive result, seconds. Default 86400. */
  positiveTtl?: number;
  /** Address cache TTL for a negative (permanent) result, seconds. Default 7200. */
  negativeTtl?: number;
  /** Domain cache TTL (rejects null sender, accept-all, no usable MX), seconds. Default 7200. */
  domainTtl?: number;
  /** Entries in the default in-memory cache. Default 10000. */
  cacheSize?: number;
  /** A shared store instead of the in-memory LRU. */
  store?: CbvStore;
  /** Single flight across processes (src/store/redis-flights.ts); default: this process only. */
  flights?: ProbeFlights;
  /** Per-domain limits counted across processes; default: counted in this process. */
  sharedLimits?: SharedLimits;
  /** Hooks for metrics. */
  observer?: CbvObserver;

  /** Probes running at once, all domains. Default 100. */
  maxConcurrent?: number;
  /** Probes running at once per probe domain. Default 10. */
  maxConcurrentPerDomain?: number;
  /** Sessions open at once to one MX IP address (shared providers). Default 20. */
  maxConcurrentPerHost?: number;
  /** Probes started per probe domain per `rateWindow`. Default 60. */
  ratePerDomain?: number;
  /** The rate window, seconds. Default 60. */
  rateWindow?: number;

  /** Probe a random local part first; a domain that accepts it is accept-all. Default false. */
  catchAllCheck?: boolean;
  /** Also probe postmaster@domain; a 5xx there makes the verdict `error`. Default false. */
  postmasterCheck?: boolean;

  /**
   * The next hops of a domain instead of its MX hosts through the target
   * guard. Recipient call-ahead (docs/recipient-verification.md) asks the
   * delivery routes; the cache, single flight and limits stay the engine's.
   */
  nextHops?: (domain: string) => Promise<NextHopTargets>;
  /** The `module` field of every log line. Default `cbv`. */
  module?: string;

  /** Where one structured event per stage and decision goes. Default: a silent pino logger. */
  logger?: Logger;
  /** Clock, for cache expiry and rate windows. Default Date.now. */
  now?: () => number;
  /** Random source for MX shuffling and catch-all local parts. Default Math.random. */
  random?: () => number;
}

/** Every option with its default filled in (the services, logger and addresses stay optional). */
type Unset = 'store' | 'logger' | 'localAddress' | 'dnsServers' | 'flights' | 'sharedLimits' | 'observer' | 'nextHops' | 'module';
export type ResolvedOptions = Required<Omit<CbvOptions, Unset>> & Pick<CbvOptions, Unset>;

export const DEFAULTS = {
  dnsTimeoutMs: 2000,
  dnsTries: 2,
  port: 25,
  allowTargets: [] as string[],
  mailFrom: '',
  map: {} as Record<string, string>,
  mapSubdomains: false,
  ownDomains: [] as string[],
  timeout: 30,
  connectTimeoutMs: 5000,
  greetingTimeoutMs: 10_000,
  commandTimeoutMs: 10_000,
  quitWaitMs: 500,
  maxHosts: 3,
  startTls: true,
  maxLineLength: 2048,
  maxReplyBytes: 16_384,
  positiveTtl: 86_400,
  negativeTtl: 7200,
  domainTtl: 7200,
  cacheSize: 10_000,
  maxConcurrent: 100,
  maxConcurrentPerDomain: 10,
  maxConcurrentPerHost: 20,
  ratePerDomain: 60,
  rateWindow: 60,
  catchAllCheck: false,
  postmasterCheck: false,
} as const;

export function resolveOptions(o: CbvOptions, hostname: string): ResolvedOptions {
  const pick = <K extends keyof typeof DEFAULTS>(k: K) => (o[k] ?? DEFAULTS[k]) as (typeof DEFAULTS)[K];
  return {
    ...o,
    dnsTimeoutMs: pick('dnsTimeoutMs'),
    dnsTries: pick('dnsTries'),
    port: pick('port'),
    allowTargets: [...pick('allowTargets')],
    helo: o.helo ?? hostname,
    mailFrom: pick('mailFrom'),
    map: { ...pick('map') },
    mapSubdomains: pick('mapSubdomains'),
    ownDomains: [...pick('ownDomains')],
    timeout: pick('timeout'),
    connectTimeoutMs: pick('connectTimeoutMs'),
    greetingTimeoutMs: pick('greetingTimeoutMs'),
    commandTimeoutMs: pick('commandTimeoutMs'),
    quitWaitMs: pick('quitWaitMs'),
    maxHosts: pick('maxHosts'),
    startTls: pick('startTls'),
    maxLineLength: pick('maxLineLength'),
    maxReplyBytes: pick('maxReplyBytes'),
    positiveTtl: pick('positiveTtl'),
    negativeTtl: pick('negativeTtl'),
    domainTtl: pick('domainTtl'),
    cacheSize: pick('cacheSize'),
    maxConcurrent: pick('maxConcurrent'),
    maxConcurrentPerDomain: pick('maxConcurrentPerDomain'),
    maxConcurrentPerHost: pick('maxConcurrentPerHost'),
    ratePerDomain: pick('ratePerDomain'),
    rateWindow: pick('rateWindow'),
    catchAllCheck: pick('catchAllCheck'),
    postmasterCheck: pick('postmasterCheck'),
    now: o.now ?? Date.now,
    random: o.random ?? Math.random,
  };
}
