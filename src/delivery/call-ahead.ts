/**
 * Recipient call-ahead (docs/recipient-verification.md): does the next hop
 * our delivery routes would hand this recipient to accept it? The question
 * is the CBV engine's (src/cbv/engine.ts: cache, single flight, limits,
 * the probe dialogue that ends at RCPT TO and never sends DATA), pointed at
 * our own next hop (routes.ts: the domain's Gateway, or its MX hosts
 * through the delivery target guard) instead of the sender's MX hosts.
 * Momentum's smtp_rcptto_proxy and Postfix's reject_unverified_recipient
 * are the models.
 *
 * Long-lived: created once by the server's services with the cache store,
 * flights and shared limits it is handed (keys prefixed so that they never
 * meet the sender CBV's), reconfigured on reload. A reload that changes
 * the options rebuilds the engine over the same store, like the CBV engine.
 */
import { hostname } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { CbvStore } from '../cbv/cache.js';
import { createCbvEngine, type CbvEngine, type VerifyOptions } from '../cbv/engine.js';
import { PrefixedStore, prefixedFlights, prefixedLimits } from '../cbv/namespace.js';
import type { NextHopTargets } from '../cbv/probe.js';
import type { CbvObserver, ProbeFlights, SharedLimits } from '../cbv/shared.js';
import type { CbvReason, Verdict } from '../cbv/types.js';
import type { Config, DeliveryConfig, RecipientVerifyConfig } from '../config/index.js';
import { verifiesDomain } from '../config/recipient-verify.js';
import { destinationFor, domainOf, NextHops, type TargetsResult } from './routes.js';

/** The keys of this engine in a store, a flight or a limit shared with the sender CBV. */
const NAMESPACE = 'rcpt:';

export interface CallAheadShared {
  store: CbvStore;
  flights?: ProbeFlights;
  sharedLimits?: SharedLimits;
  /** Metrics hooks (src/ops/metrics.ts). */
  observer?: CbvObserver;
}

/** A recipient the call-ahead does not ask about, and why. */
export type NotAsked = 'off' | 'not-routed' | 'local';

export class RecipientVerifier {
  private engine!: CbvEngine;
  private readonly hops: NextHops;
  private delivery!: DeliveryConfig;
  private settings!: RecipientVerifyConfig;
  private engineKey: unknown = null;
  private readonly store: CbvStore;
  private readonly flights?: ProbeFlights;
  private readonly sharedLimits?: SharedLimits;
  private readonly observer?: CbvObserver;

  constructor(
    config: Pick<Config, 'delivery' | 'recipientVerify' | 'server'>,
    shared: CallAheadShared,
    private readonly logger: Logger,
  ) {
    this.store = new PrefixedStore(NAMESPACE, shared.store);
    if (shared.flights) this.flights = prefixedFlights(NAMESPACE, shared.flights);
    if (shared.sharedLimits) this.sharedLimits = prefixedLimits(NAMESPACE, shared.sharedLimits);
    if (shared.observer) this.observer = shared.observer;
    this.hops = new NextHops(config.delivery);
    this.reconfigure(config);
  }

  /** A reload: new routes at once; the engine rebuilt only when its options changed (the cache is kept). */
  reconfigure(config: Pick<Config, 'delivery' | 'recipientVerify' | 'server'>): void {
    this.delivery = config.delivery;
    this.settings = config.recipientVerify ?? OFF;
    this.hops.configure(config.delivery);
    const s = this.settings;
    const d = config.delivery;
    const timeoutMs = s.timeoutMs;
    const options = {
      mailFrom: s.sender,
      helo: d.ehloHostname ?? config.server.hostname ?? hostname(),
      timeout: timeoutMs / 1000,
      connectTimeoutMs: Math.min(d.connectTimeoutMs, timeoutMs),
      greetingTimeoutMs: Math.min(d.connectTimeoutMs, timeoutMs),
      commandTimeoutMs: Math.min(d.responseTimeoutMs, timeoutMs),
      positiveTtl: s.positiveTtlMs / 1000,
      negativeTtl: s.negativeTtlMs / 1000,
      // A domain-wide verdict (the next hop refuses our sender, null MX) is a negative one.
      domainTtl: s.negativeTtlMs / 1000,
      maxConcurrent: s.maxConcurrency,
      maxConcurrentPerDomain: s.maxConcurrency,
      maxConcurrentPerHost: s.maxConcurrency,
      ratePerDomain: s.rateLimit,
      rateWindow: s.rateIntervalMs / 1000,
    };
    if (this.engine && isDeepStrictEqual(options, this.engineKey)) return;
    if (this.engine) this.logger.info({ event: 'reconfigure', service: 'recipient-verify' }, 'recipient call-ahead options changed: engine rebuilt (cache kept, rate limits restart)');
    this.engine = createCbvEngine({
      ...options,
      module: 'recipient-verify',
      nextHops: (domain) => this.nextHops(domain),
      store: this.store,
      ...(this.flights ? { flights: this.flights } : {}),
      ...(this.sharedLimits ? { sharedLimits: this.sharedLimits } : {}),
      ...(this.observer ? { observer: this.observer } : {}),
      logger: this.logger,
    });
    this.engineKey = options;
  }

  /** Why the automatic call-ahead does not ask about this recipient, or undefined when it does. */
  notAsked(address: string): NotAsked | undefined {
    const domain = domainOf(address);
    // RCPT TO:<Postmaster> without a domain is ours by definition (RFC 5321 4.1.1.3).
    if (!domain) return 'local';
    if (!verifiesDomain(this.settings, domain)) return 'off';
    // Unrouted, accepted mail stays in the local spool: there is no next hop to ask.
    if (!this.delivery.routed) return 'not-routed';
    if (destinationFor(address, this.delivery).route.method === 'maildir') return 'local';
    return undefined;
  }

  /**
   * The next hop's verdict on `address` (the Sieve function asks whatever
   * `Recipient_Verify` says). A recipient delivered locally has no next hop:
   * its verdict is `error`, reason `no-allowed-target`, and no probe is made.
   */
  verify(address: string, opts: VerifyOptions = {}): Promise<Verdict> {
    return this.engine.verify(address, opts);
  }

  /** Counters of the current engine, for tests and benchmarks. */
  get stats(): CbvEngine['stats'] {
    return this.engine.stats;
  }

  /** The route's next hops for a domain, as the engine's targets (called on a cache miss, inside the single flight). */
  private async nextHops(domain: string): Promise<NextHopTargets> {
    const dest = destinationFor(`postmaster@${domain}`, this.delivery);
    if (!this.delivery.routed || dest.route.method === 'maildir') {
      return { ok: false, reason: 'no-allowed-target', stage: 'policy', detail: `${domain} is delivered locally: there is no next hop to ask` };
    }
    const lmtp = dest.route.method === 'lmtp';
    // The route's TLS = no holds for the call-ahead too; otherwise STARTTLS when offered (no message
    // crosses this session, so `required` adds nothing a clear retry would lose: docs/cbv.md).
    const startTls = dest.route.tls !== 'no';
    const r = await this.hops.targets(dest);
    if (r.ok) return { ok: true, targets: r.targets.map((t) => ({ host: t.name, ip: t.address, port: t.port, startTls, ...(lmtp ? { lmtp } : {}) })) };
    return { ok: false, reason: reasonOf(r), stage: 'dns', detail: r.reply.text };
  }
}

/**
 * The engine's reason for a route that has no target; routes.ts words the
 * same failures as the delivery replies it bounces with (RFC 3463 codes).
 */
function reasonOf(r: Extract<TargetsResult, { ok: false }>): CbvReason {
  if (!r.permanent) return 'dns-error';
  if (r.reply.enhanced === '5.1.10') return 'null-mx';
  if (r.reply.enhanced === '5.1.2') return 'nxdomain';
  return 'no-allowed-target';
}

/** Settings when the configuration has none (built by hand): off everywhere. */
const OFF: RecipientVerifyConfig = {
  enabled: false,
  domains: {},
  sender: '',
  timeoutMs: 30_000,
  positiveTtlMs: 86_400_000,
  negativeTtlMs: 3_600_000,
  maxConcurrency: 50,
  rateLimit: 600,
  rateIntervalMs: 60_000,
};
