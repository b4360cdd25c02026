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
import type { Logger } from 'pino';
import { loadConfig } from '../config/index.js';
import { MaildirSpool } from '../delivery/maildir.js';
import { DeliveryQueue } from '../delivery/queue.js';
import { QueueStore } from '../delivery/queue-store.js';
import { type Diagnostic, formatDiagnostic } from '../diagnostics.js';
import { assertSmtpServerFits } from '../frontdoors/smtp/smtp-server-adapter.js';
import { SmtpFront } from '../frontdoors/smtp/smtp-front.js';
import type { SievePolicy } from '../session/policy.js';
import { assemble } from './assemble.js';
import { createLogger } from './logger.js';
import { reload, sieveLogger } from './reload.js';
import { createServices, type ServerServices } from './services.js';

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
}

export interface StartOptions {
  /** A logger to use instead of the configured one (tests). */
  logger?: Logger;
}

export async function startFromConfig(configFile: string, options: StartOptions = {}): Promise<{ running: RunningServer | null; diagnostics: Diagnostic[] }> {
  assertSmtpServerFits();
  const loaded = await loadConfig(configFile);
  if (!loaded.config) return { running: null, diagnostics: loaded.diagnostics };
  const config = loaded.config;
  const logger = options.logger ?? createLogger(config.logging);
  const { assembled, diagnostics } = await assemble(config);
  const all = [...loaded.diagnostics, ...diagnostics];
  if (!assembled) return { running: null, diagnostics: all };
  for (const d of all) logger.warn({ event: 'config-warning' }, formatDiagnostic(d));

  const spool = new MaildirSpool(config.spoolDir);
  const recovered = await spool.recover();
  logger.info({ event: 'spool', dir: config.spoolDir, ...recovered }, 'spool ready');

  const s = config.server;
  // With routes, the queue is the store: created once, it outlives reloads (docs/delivery.md).
  const queue = config.delivery.routed ? await DeliveryQueue.open({ config: config.delivery, spool, logger, hostname: s.hostname ?? osHostname() }) : undefined;
  const services = createServices(config, sieveLogger(logger, config), queue ? new QueueStore(queue, logger) : spool);
  let policy: SievePolicy = assembled.policy;
  const front = new SmtpFront(
    { listeners: assembled.listeners, hostname: s.hostname ?? osHostname(), maxMessageSize: s.maxMessageSize, maxConnectionsPerIp: s.maxConnectionsPerIp, socketTimeoutMs: s.socketTimeoutMs, greetPauseMs: s.greetPauseMs, maxConnections: s.maxConnections, dataTimeoutMs: s.dataTimeoutMs, logger },
    { policy: () => policy, services },
  );
  const addresses = await front.start();

  const running: RunningServer = {
    addresses,
    logger,
    services,
    ...(queue ? { queue } : {}),
    front,
    reload: () => reload({ configFile, logger, services, swap: (p) => (policy = p), spoolDir: config.spoolDir }),
    async stop(deadlineMs = 30_000) {
      await front.close(deadlineMs);
      await queue?.stop(Math.min(deadlineMs, 10_000));
    },
  };
  return { running, diagnostics: all };
}
