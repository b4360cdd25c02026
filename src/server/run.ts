/**
 * A running smtp-cbv server built from a configuration file: start, reload
 * (SIGHUP: configuration and scripts again; sessions keep going and keep
 * what they decided; a failed reload keeps what runs and says why), stop
 * (SIGTERM: stop accepting, let sessions finish up to a deadline).
 *
 * What a reload replaces is only the policy (the compiled scripts) and the
 * services' settings; the services themselves (CBV engine, cache, limits,
 * counters, store) live as long as the process (services.ts).
 */
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { loadConfig } from '../config/index.js';
import { MaildirSpool } from '../delivery/maildir.js';
import { spoolWriter } from '../delivery/spool-writer.js';
import { adoptedPids } from '../delivery/spool-writer.js';
import { matchPool } from '../sieve/match/match-pool.js';
import { DeliveryQueue } from '../delivery/queue.js';
import { QueueStore } from '../delivery/queue-store.js';
import { assertNodemailerFits } from '../delivery/outbound.js';
import { type Diagnostic, formatDiagnostic } from '../diagnostics.js';
import { assertSmtpServerFits } from '../frontdoors/smtp/smtp-server-adapter.js';
import { SmtpFront } from '../frontdoors/smtp/smtp-front.js';
import { Readiness } from '../ops/health.js';
import { type OpsServer, startOpsServer } from '../ops/http.js';
import { Metrics } from '../ops/metrics.js';
import { SievePolicy } from '../session/policy.js';
import { assemble } from './assemble.js';
import { warmUp } from './warm-up.js';
import { createLogger } from './logger.js';
import { reload, sieveLogger } from './reload.js';
import { createServices, type ServerServices } from './services.js';
import { tuneHeap } from './heap-tuning.js';
import { recoverSpool } from './spool-recovery.js';
import { shareOf, workerSlot } from '../ops/worker-slot.js';

export interface RunningServer {
  addresses: Array<{ host: string; port: number }>;
  logger: Logger;
  services: ServerServices;
  /** The delivery queue, when the configuration routes mail (docs/delivery.md). */
  queue?: DeliveryQueue;
  /** Reloads config and scripts; resolves with the problems found (the old policy stays on error). */
  reload(): Promise<Diagnostic[]>;
  stop(deadlineMs?: number): Promise<void>;
  front: SmtpFront;
  metrics: Metrics;
  readiness: Readiness;
  /** The metrics and health listener, when this process serves one. */
  ops?: OpsServer;
}

export interface StartOptions {
  /** A logger to use instead of the configured one (tests). */
  logger?: Logger;
  /** Serve the `metrics` scope's listener (default true; a cluster worker leaves it to the primary). */
  opsListener?: boolean;
  /** Clean the spool's crash leftovers at start (default true; a worker must not, others are writing). */
  recoverSpool?: boolean;
  /** Where the metrics go (default: a registry of this process's own). */
  metrics?: Metrics;
  /** A cluster worker's id, added to every log line. */
  workerId?: number;
}

export async function startFromConfig(configFile: string, options: StartOptions = {}): Promise<{ running: RunningServer | null; diagnostics: Diagnostic[] }> {
  assertSmtpServerFits();
  assertNodemailerFits();
  tuneHeap();
  const loaded = await loadConfig(configFile);
  if (!loaded.config) return { running: null, diagnostics: loaded.diagnostics };
  const config = loaded.config;
  const base = options.logger ?? createLogger(config.logging);
  const logger = options.workerId !== undefined ? base.child({ worker: options.workerId }) : base;
  const { assembled, diagnostics } = await assemble(config);
  const all = [...loaded.diagnostics, ...diagnostics];
  if (!assembled) return { running: null, diagnostics: all };
  for (const d of all) logger.warn({ event: 'config-warning' }, formatDiagnostic(d));

  const spool = new MaildirSpool(config.spoolDir);
  // Messages stay safe (docs/server.md, "The spool"), but each now costs its own syncs: worth an operator's look.
  spoolWriter.onCheckpointFailure((err) => logger.warn({ event: 'spool-checkpoint', err }, 'spool checkpoints failed: every message is now synced on its own'));
  if (options.recoverSpool === false) {
    await spool.init();
    // A worker started in a dead one's place compacts the journals it left (docs/operations.md, "Workers").
    const pids = adoptedPids();
    if (pids.length) void spool.compactJournals().then((r) => logger.info({ event: 'spool-adopted', pids, ...r }, 'journals of dead workers compacted'), (e: unknown) => logger.warn({ event: 'spool-adopted', pids, err: String(e) }, 'compacting the journals of dead workers failed; start-up will'));
  } else {
    await recoverSpool(spool, config.spoolDir, logger);
  }

  const s = config.server;
  // Under workers each takes its share of the server's bounds and of the queue (docs/operations.md, "Workers").
  const slot = workerSlot();
  // With routes, the queue is the store: created once, it outlives reloads (docs/delivery.md).
  const metrics = options.metrics ?? new Metrics();
  const queue = config.delivery.routed
    ? await DeliveryQueue.open({ config: config.delivery, spool, logger, hostname: s.hostname ?? osHostname(), onOutcome: (o) => metrics.delivered(o), share: slot })
    : undefined;
  if (queue) metrics.attachQueue(queue);
  const services = createServices(config, sieveLogger(logger, config), queue ? new QueueStore(queue, logger) : spool, { metrics });
  const redis = services.shared.redis;
  const readiness = new Readiness({ spoolDir: config.spoolDir, ...(redis?.required ? { redisUp: () => redis.link.up } : {}) });
  metrics.watchSieveCounters(services.counters);
  if (redis) metrics.watchRedis(() => redis.link.up);
  let policy: SievePolicy = observed(assembled.policy, metrics);
  const front = new SmtpFront(
    { listeners: assembled.listeners, hostname: s.hostname ?? osHostname(), maxMessageSize: s.maxMessageSize, maxConnectionsPerIp: s.maxConnectionsPerIp, socketTimeoutMs: s.socketTimeoutMs, greetPauseMs: s.greetPauseMs, maxConnections: shareOf(s.maxConnections, slot.workers), dataTimeoutMs: s.dataTimeoutMs, maxMessageMemory: shareOf(s.maxMessageMemory, slot.workers), incomingDir: join(config.spoolDir, 'tmp'), messageInMemoryLimit: s.messageSpoolThreshold, logger, connections: services.shared.connections },
    { policy: () => policy, services },
  );
  metrics.watchConnections(() => front.connectionCount);
  // Before the first session, not under its first message (warm-up.ts).
  warmUp(assembled.policy.scripts(), config);
  const addresses = await front.start();
  // The match worker threads start now, not under the first large message (docs/sieve-interpreter.md, "What an offload costs").
  matchPool.warm();
  const m = config.metrics;
  let ops: OpsServer | undefined;
  try {
    if (m && options.opsListener !== false) {
      ops = await startOpsServer(m.host, m.port, { metrics: async () => ({ contentType: metrics.contentType, body: await metrics.render() }), notReady: () => readiness.problems() }, logger);
    }
  } catch (e) {
    // No half-started server: what is open would keep the process alive.
    await front.close(0);
    await services.close();
    throw e;
  }

  const running: RunningServer = {
    addresses,
    logger,
    services,
    ...(queue ? { queue } : {}),
    front,
    metrics,
    readiness,
    ...(ops ? { ops } : {}),
    reload: () => reload({ configFile, logger, services, swap: (p) => (policy = observed(p, metrics)), spoolDir: config.spoolDir }),
    async stop(deadlineMs = 30_000) {
      // Not ready from the first moment of the drain, so a balancer stops sending.
      readiness.draining = true;
      await front.close(deadlineMs);
      await queue?.stop(Math.min(deadlineMs, 10_000));
      await ops?.close();
      await services.close();
    },
  };
  return { running, diagnostics: all };
}

/** The policy with the metrics watching its scripts (Sieve actions, runtime errors). */
function observed(policy: SievePolicy, metrics: Metrics): SievePolicy {
  return new SievePolicy({ ...policy.options, observer: metrics.policyObserver() });
}
