/**
 * SIGHUP for any front door: read the configuration and every script
 * again; on success swap the policy and apply the new settings to the
 * long-lived services; on failure keep what runs and say why. The SMTP
 * server (run.ts) and the front doors beside an MTA (src/frontdoors) share it.
 */
import type { Logger } from 'pino';
import { type Config, loadConfig } from '../config/index.js';
import { type Diagnostic, formatDiagnostic } from '../diagnostics.js';
import type { SievePolicy } from '../session/policy.js';
import { assemble } from './assemble.js';
import { warmUp } from './warm-up.js';
import type { ServerServices } from './services.js';

/** Momentum's sieve Debug_Level: the scripts' own log level, else the global one. */
export function sieveLogger(logger: Logger, config: Config): Logger {
  return config.sieve.debugLevel ? logger.child({}, { level: config.sieve.debugLevel }) : logger;
}

export interface Reloadable {
  configFile: string;
  logger: Logger;
  services: ServerServices;
  /** Installs the new policy. */
  swap(policy: SievePolicy): void;
  /** Adjusts a loaded configuration before it is applied (a front door's deadlines). */
  adjust?(config: Config): Config;
  /** The spool the process opened at start-up, when it has one: it stays until a restart. */
  spoolDir?: string;
}

/** Resolves with the problems found; the old policy stays when any is an error. */
export async function reload(r: Reloadable): Promise<Diagnostic[]> {
  const { logger } = r;
  const again = await loadConfig(r.configFile);
  let problems = again.diagnostics;
  if (again.config) {
    const config = r.adjust ? r.adjust(again.config) : again.config;
    const next = await assemble(config);
    problems = [...problems, ...next.diagnostics];
    if (next.assembled) {
      if (r.spoolDir !== undefined && config.spoolDir !== r.spoolDir) logger.warn({ event: 'reload', spoolDir: config.spoolDir }, 'spool_dir changed: the running spool stays until a restart');
      // What the new scripts need is loaded now, once, not by the first message they see (warm-up.ts).
      warmUp(next.assembled.policy.scripts(), config);
      r.swap(next.assembled.policy);
      r.services.logger = sieveLogger(logger, config);
      r.services.reconfigure(config);
      logger.info({ event: 'reload', ok: true, warnings: problems.length }, 'configuration reloaded (listener changes need a restart)');
      return problems;
    }
  }
  logger.error({ event: 'reload', ok: false, problems: problems.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d)) }, 'reload failed; keeping the running configuration');
  return problems;
}
