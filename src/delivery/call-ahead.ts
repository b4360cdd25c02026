/**
 * Recipient call-ahead (docs/recipient-verification.md): does the next hop
 * our delivery routes would hand this recipient to accept it? The question
 * is the CBV engine's (src/cbv/engine.ts: cache, single flight, limits,
 * the probe dialogue that ends at RCPT TO and never sends DATA), pointed at
 * our own next hop (routes.ts: the domain's Gateway, or its MX hosts
 * through the delivery target guard, or the gateway a script chose for the
 * recipient) instead of the sender's MX hosts.
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
import type { CbvOptions } from '../cbv/options.js';
import type { NextHopTargets } from '../cbv/probe.js';
import type { CbvObserver, ProbeFlights, SharedLimits } from '../cbv/shared.js';
import type { CbvReason, Verdict } from '../cbv/types.js';
import type { Config, DeliveryConfig, RecipientVerifyConfig } from '../config/index.js';
import { parseGateway } from '../config/gateway.js';
import { verifiesDomain } from '../config/recipient-verify.js';
import { type Destination, destinationFor, domainOf, NextHops, type TargetsResult } from './routes.js';

/** The keys of this engine in a store, a flight or a limit shared with the sender CBV. */
const NAMESPACE = 'rcpt:';

/** Gateways scripts chose that keep an engine of their own; past this many, the engines are dropped and made again as asked for. */
const MAX_GATEWAYS = 256;

export interface CallAheadShared {
  store: CbvStore;
  flights?: ProbeFlights;
  sharedLimits?: SharedLimits;
  /** Metrics hooks (src/ops/metrics.ts). */
  observer?: CbvObserver;
}

/** The engine's options taken from the configuration: what a reload compares. */
type EngineOptions = Omit<CbvOptions, 'module' | 'nextHops' | 'store' | 'flights' | 'sharedLimits' | 'observer' | 'logger'>;

/** A recipient the call-ahead does not ask about, and why. */
export type NotAsked = 'off' | 'not-routed' | 'local';

export class RecipientVerifier {
  private engine!: CbvEngine;
  /**
   * The engines that ask a gateway a script chose (ec_set_routing_gateway)
   * instead of the recipient's route, by gateway: each keeps its verdicts,
   * flights and limits apart, as a verdict of one next hop says nothing of
   * what another would answer.
   */
  private readonly viaGateway = new Map<string, CbvEngine>();
  private readonly hops: NextHops;
  private delivery!: DeliveryConfig;
  private settings!: RecipientVerifyConfig;
  private engineKey: EngineOptions | null = null;

  constructor(
    config: Pick<Config, 'delivery' | 'recipientVerify' | 'server'>,
    private readonly shared: CallAheadShared,
    private readonly logger: Logger,
  ) {
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
    const options: EngineOptions = {
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
    this.engineKey = options;
    this.engine = this.build(NAMESPACE, (domain) => this.nextHops(destinationFor(`postmaster@${domain}`, this.delivery)));
    this.viaGateway.clear();
  }

  /** An engine with the current options over the shared store, flights and limits, its keys under `namespace`. */
  private build(namespace: string, nextHops: (domain: string) => Promise<NextHopTargets>): CbvEngine {
    const { store, flights, sharedLimits, observer } = this.shared;
    return createCbvEngine({
      ...this.engineKey!,
      module: 'recipient-verify',
      nextHops,
      store: new PrefixedStore(namespace, store),
      ...(flights ? { flights: prefixedFlights(namespace, flights) } : {}),
      ...(sharedLimits ? { sharedLimits: prefixedLimits(namespace, sharedLimits) } : {}),
      ...(observer ? { observer } : {}),
      logger: this.logger,
    });
  }

  /** The engine that asks `gateway` (a script's, as ec_set_routing_gateway takes it); undefined when it is not one. */
  private gatewayEngine(text: string): CbvEngine | undefined {
    const known = this.viaGateway.get(text);
    if (known) return known;
    const gateway = parseGateway(text);
    if (!gateway) return undefined;
    if (this.viaGateway.size >= MAX_GATEWAYS) this.viaGateway.clear();
    const engine = this.build(`${NAMESPACE}gw:${text}:`, (domain) => this.nextHops(destinationFor(`postmaster@${domain}`, this.delivery, gateway)));
    this.viaGateway.set(text, engine);
    return engine;
  }

  /**
   * Why the automatic call-ahead does not ask about this recipient, or
   * undefined when it does. `gateway`: one a script chose for it
   * (ec_set_routing_gateway), which its mail leaves by whatever its
   * domain's route says, as delivery takes it (routes.ts).
   */
  notAsked(address: string, gateway?: string): NotAsked | undefined {
    const domain = domainOf(address);
    // RCPT TO:<Postmaster> without a domain is ours by definition (RFC 5321 4.1.1.3).
    if (!domain) return 'local';
    if (!verifiesDomain(this.settings, domain)) return 'off';
    // Unrouted, accepted mail stays in the local spool: there is no next hop to ask.
    if (!this.delivery.routed) return 'not-routed';
    if (gateway === undefined && destinationFor(address, this.delivery).route.method === 'maildir') return 'local';
    return undefined;
  }

  /**
   * The next hop's verdict on `address` (the Sieve function asks whatever
   * `Recipient_Verify` says): its route's, or `gateway`'s when a script chose
   * one for it. A recipient delivered locally has no next hop: its verdict
   * is `error`, reason `no-allowed-target`, and no probe is made.
   */
  verify(address: string, opts: VerifyOptions = {}, gateway?: string): Promise<Verdict> {
    return ((gateway !== undefined && this.gatewayEngine(gateway)) || this.engine).verify(address, opts);
  }

  /** Counters of the current engine, for tests and benchmarks. */
  get stats(): CbvEngine['stats'] {
    return this.engine.stats;
  }

  /** A destination's next hops, as the engine's targets (called on a cache miss, inside the single flight). */
  private async nextHops(dest: Destination): Promise<NextHopTargets> {
    const domain = dest.domain;
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
