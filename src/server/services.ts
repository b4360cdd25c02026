/**
 * The long-lived services of a running server: created once at start-up
 * and kept across reloads (SIGHUP), so a reload loses no CBV cache entry,
 * no rate-limit count, no counter and no probe in flight. A reload that
 * changes the smtp_cbv options rebuilds only the CBV engine (over the same
 * cache store) and says so in the log.
 */
import cluster from 'node:cluster';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { createCbvEngine } from '../cbv/engine.js';
import { cbvEngineOptions, type Config } from '../config/index.js';
import { RecipientVerifier } from '../delivery/call-ahead.js';
import { LocalStore } from '../delivery/local-store.js';
import { MaildirSpool } from '../delivery/maildir.js';
import { QueueStore } from '../delivery/queue-store.js';
import { createDnsLookup } from '../policy/dns-lookup.js';
import { createMomentumServices, type MomentumServices } from '../policy/momentum-services.js';
import { userMaildirs } from '../delivery/user-maildir.js';
import { allObservers, inboundAudit } from '../policy/inbound-audit.js';
import { functionServices } from '../policy/functions.js';
import { spoolFolders } from '../policy/mailboxes.js';
import type { Metrics } from '../ops/metrics.js';
import { RecipientVerification } from '../session/recipient-verification.js';
import { SenderVerification } from '../session/sender-verification.js';
import { reconfigureAuthentication } from './authentication-service.js';
import type { MessageStore, SessionServices } from '../session/session.js';
import { createSharedState, type SharedState } from '../store/index.js';
import { NamedThrottles } from '../sievepp/throttles.js';
import { ClusterThrottles } from '../store/cluster-throttles.js';
import { NamedGauges } from '../sievepp/gauges.js';
import { ClusterGauges } from '../store/cluster-gauges.js';

export interface ServerServices extends SessionServices {
  /** Applies a reloaded configuration to what can change without a restart. */
  reconfigure(config: Config): void;
  /** State shared with other processes through Redis, or kept here (src/store): the CBV cache, per-IP connection counts. */
  shared: SharedState;
  /** Closes what the services hold open (the Redis connections). */
  close(): Promise<void>;
}

/** `store`: where accepted messages go; a spool means the local Maildir store (LocalStore). */
export function createServices(config: Config, logger: Logger, store: MessageStore | MaildirSpool, ops: { metrics?: Metrics } = {}): ServerServices {
  // One store for the life of the process: an engine rebuilt by a reload keeps every
  // verdict. The Redis settings are read once: changing them needs a restart.
  const shared = createSharedState(config, logger);
  const cacheStore = shared.cbvStore;
  // Workers (and processes sharing a Redis) then know of each other's vacation replies.
  if (store instanceof QueueStore) store.shareVacations(shared.duplicates);
  const cbvObserver = ops.metrics?.cbvObserver();
  let engineOptions: unknown = null;
  let dnsServers: unknown = null;
  // Recipient call-ahead (docs/recipient-verification.md): one for the life of the process,
  // over the same shared state under its own keys, reconfigured in place by a reload.
  const recipientObserver = ops.metrics?.recipientVerifyObserver();
  const recipientVerifier = new RecipientVerifier(
    config,
    { store: cacheStore, ...(shared.flights ? { flights: shared.flights } : {}), ...(shared.sharedLimits ? { sharedLimits: shared.sharedLimits } : {}), ...(recipientObserver ? { observer: recipientObserver } : {}) },
    logger,
  );

  // Sieve++ services: the per-IP counters, named and shared throttles, gauge caches and replicated caches live as long as the process; datasources and CIDR
  // tables are reopened only when their configuration changes.
  const ipCounters = shared.counterStore;
  // A cluster worker's are its primary's: the server's, as a Momentum node's are (src/store/cluster-throttles.ts).
  const throttles = cluster.isWorker ? new ClusterThrottles(config.sivThrottleCacheSize) : new NamedThrottles(config.sivThrottleCacheSize);
  const gauges = cluster.isWorker ? new ClusterGauges() : new NamedGauges();
  let momentumConfig: unknown = null;
  const reconfigureMomentum = (next: Config) => {
    // The opendkim and maildir scopes too: a reload that changes a selector, a key path or a basedir takes effect.
    const key = { datasources: next.datasources.map(({ declaredAt: _d, ...d }) => d), cidrLists: next.cidrLists.map(({ declaredAt: _d, ...c }) => c), file: next.file, dkim: [next.dkimSign, next.dkimDomains && [...next.dkimDomains], next.dkimAutoSign], maildir: next.maildir };
    if (isDeepStrictEqual(key, momentumConfig)) return;
    const previous = services.momentum as MomentumServices | undefined;
    const created = createMomentumServices(next, { counters: ipCounters, throttles, sharedThrottles: shared.sharedThrottles, gauges, clusterCaches: shared.clusterCaches, onLogError: (file, e) => logger.warn({ event: 'ec_log_file', file, err: String(e) }, 'ec_log_file failed') });
    services.momentum = created;
    previous?.close();
    momentumConfig = key;
  };

  const services: ServerServices = {
    logger,
    counters: new Map(),
    store: store instanceof MaildirSpool ? new LocalStore(store) : store,
    // Scripts' own mail goes through the delivery queue; without routing it is logged as not sent.
    ...(store instanceof QueueStore ? { outgoing: store } : {}),
    // mailboxexists sees the spool's folders only when accepted mail is filed there (src/policy/mailboxes.ts).
    ...(store instanceof MaildirSpool ? { folderExists: spoolFolders(store) } : {}),
    // Per-user Maildirs (ec_maildir's and the maildir module's), with the maildir scope as the last reload left it.
    userMaildirs: userMaildirs(() => services.momentum?.maildir),
    maxTarpitMs: config.server.maxTarpitMs,
    maxTarpitSeconds: config.server.maxTarpitMs / 1000,
    policyRejectionBounces: config.policyRejectionBounces,
    functionServices: {},
    recipients: new RecipientVerification(recipientVerifier, logger),
    duplicates: ops.metrics ? ops.metrics.countedDuplicates(shared.duplicates) : shared.duplicates,
    shared,
    // audit_connections_on_* count what the listeners count (src/store/connections.ts).
    connections: shared.connections,
    // Metrics, and Momentum's inbound audit series that ec_ip_* read.
    observer: allObservers(ops.metrics?.sessionObserver(), inboundAudit(ipCounters)),
    close: () => shared.close(),
    reconfigure(next: Config) {
      reconfigureMomentum(next);
      recipientVerifier.reconfigure(next);
      reconfigureAuthentication(services, next, logger);
      // The delivery queue, when it is the store, takes the reloaded routes and retry settings (docs/delivery.md).
      const queue = services.store instanceof QueueStore ? services.store.queue : null;
      queue?.reconfigure(next.delivery);
      if (queue && !next.delivery.routed) logger.warn({ event: 'reconfigure', service: 'delivery' }, 'turning routing off needs a restart');
      services.maxTarpitMs = next.server.maxTarpitMs;
      services.maxTarpitSeconds = next.server.maxTarpitMs / 1000;
      services.policyRejectionBounces = next.policyRejectionBounces;
      if (next.mailLoop) services.mailLoop = next.mailLoop;
      else delete services.mailLoop;
      const c = next.smtpCbv;
      // ec_dns_lookup asks the same resolvers as the CBV engine.
      const servers = c?.dnsServers ?? [];
      if (!isDeepStrictEqual(servers, dnsServers)) {
        services.dnsLookup = createDnsLookup({ servers: c?.dnsServers });
        dnsServers = servers;
      }
      if (!c) {
        if (services.cbv) logger.info({ event: 'reconfigure', service: 'cbv' }, 'smtp_cbv removed: no more automatic probes');
        delete services.cbv;
        services.functionServices = functionServices(undefined, recipientVerifier);
        engineOptions = null;
        return;
      }
      const options = cbvEngineOptions(c);
      const key = { options, debugLevel: c.debugLevel };
      // Momentum's Debug_Level: this module's own log level, else the global one.
      const cbvLogger = c.debugLevel ? logger.child({}, { level: c.debugLevel }) : logger;
      const moduleOptions = { enabled: c.enabled, phase: c.phase, deadlineMs: c.timeoutMs };
      if (services.cbv && isDeepStrictEqual(key, engineOptions)) {
        services.cbv.options = moduleOptions;
        return;
      }
      const engine = createCbvEngine({
        ...options,
        store: cacheStore,
        ...(shared.flights ? { flights: shared.flights } : {}),
        ...(shared.sharedLimits ? { sharedLimits: shared.sharedLimits } : {}),
        ...(cbvObserver ? { observer: cbvObserver } : {}),
        logger: cbvLogger,
      });
      if (services.cbv) logger.info({ event: 'reconfigure', service: 'cbv' }, 'smtp_cbv options changed: CBV engine rebuilt (cache kept, rate limits restart)');
      services.cbv = new SenderVerification(engine, moduleOptions, cbvLogger);
      services.functionServices = functionServices(engine, recipientVerifier);
      engineOptions = key;
    },
  };
  services.reconfigure(config);
  return services;
}
