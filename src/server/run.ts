/**
 * A running smtp-cbv server built from a configuration file: start, reload
 * (SIGHUP: config and scripts again, without dropping sessions; a failed
 * reload keeps what runs and says why), stop (SIGTERM: stop accepting, let
 * sessions finish up to a deadline).
 */
import { hostname as osHostname } from 'node:os';
import type { Logger } from 'pino';
import { loadConfig } from '../config/index.js';
import { type Diagnostic, formatDiagnostic } from '../diagnostics.js';
import { assemble } from './assemble.js';
import { createLogger } from './logger.js';
import { PolicyServer } from './smtp.js';
import { MaildirSpool } from './spool.js';

export interface RunningServer {
  addresses: Array<{ host: string; port: number }>;
  logger: Logger;
  /** Reloads config and scripts; resolves with the problems found (the old policy stays on error). */
  reload(): Promise<Diagnostic[]>;
  stop(deadlineMs?: number): Promise<void>;
  server: PolicyServer;
}

export interface StartOptions {
  /** A logger to use instead of the configured one (tests). */
  logger?: Logger;
}

export async function startFromConfig(configFile: string, options: StartOptions = {}): Promise<{ running: RunningServer | null; diagnostics: Diagnostic[] }> {
  const loaded = await loadConfig(configFile);
  if (!loaded.config) return { running: null, diagnostics: loaded.diagnostics };
  const config = loaded.config;
  const logger = options.logger ?? createLogger(config.logging);
  const hostname = config.server.hostname ?? osHostname();
  const { assembled, diagnostics } = await assemble(config, logger, hostname);
  const all = [...loaded.diagnostics, ...diagnostics];
  if (!assembled) return { running: null, diagnostics: all };
  for (const d of all) logger.warn({ event: 'config-warning' }, formatDiagnostic(d));

  const spool = new MaildirSpool(config.spoolDir);
  const recovered = await spool.recover();
  logger.info({ event: 'spool', dir: config.spoolDir, ...recovered }, 'spool ready');

  const server = new PolicyServer({ ...assembled.server, listeners: assembled.listeners, policy: assembled.policy, spool, logger });
  const addresses = await server.start();

  const running: RunningServer = {
    addresses,
    logger,
    server,
    async reload() {
      const again = await loadConfig(configFile);
      let problems = again.diagnostics;
      if (again.config) {
        const next = await assemble(again.config, logger, again.config.server.hostname ?? osHostname());
        problems = [...problems, ...next.diagnostics];
        if (next.assembled) {
          server.setPolicy(next.assembled.policy);
          logger.info({ event: 'reload', ok: true, warnings: problems.length }, 'configuration reloaded (listener changes need a restart)');
          return problems;
        }
      }
      logger.error({ event: 'reload', ok: false, problems: problems.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d)) }, 'reload failed; keeping the running configuration');
      return problems;
    },
    stop: (deadlineMs = 30_000) => server.close(deadlineMs),
  };
  return { running, diagnostics: all };
}
