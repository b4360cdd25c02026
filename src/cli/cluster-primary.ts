/**
 * A long-running subcommand (`serve`, `milter`, `policy`) as the cluster
 * primary when it is asked for workers: `--workers`, else the
 * configuration's `workers`, else 1 (docs/operations.md, "Workers").
 */
import cluster from 'node:cluster';
import { formatDiagnostic } from '../diagnostics.js';
import { type CliIO, EXIT } from './io.js';

/**
 * In the process an operator started: runs it as the cluster primary when
 * more than one worker is asked for, and returns its exit code (also when
 * the count cannot be known); undefined when this process runs the
 * command's server itself (one worker, or a cluster worker).
 */
export async function primaryExit(command: string, opts: { config: string; workers?: string }, drainMs: number, io: CliIO, kind: 'serve' | 'beside'): Promise<number | undefined> {
  if (!cluster.isPrimary) return undefined;
  const workers = await workerCount(command, opts, io);
  if (workers === undefined) return EXIT.failure;
  return workers > 1 ? runAsPrimary(opts.config, workers, drainMs, io, kind) : undefined;
}

/** Undefined (with the reason written) when --workers is not a count or the configuration does not load. */
async function workerCount(command: string, opts: { config: string; workers?: string }, io: CliIO): Promise<number | undefined> {
  if (opts.workers !== undefined) {
    const n = Number(opts.workers);
    if (Number.isInteger(n) && n >= 1 && n <= 64) return n;
    io.err(`smtp-cbv ${command}: --workers expects an integer from 1 to 64, found '${opts.workers}'\n`);
    return undefined;
  }
  const { loadConfig } = await import('../config/index.js');
  const loaded = await loadConfig(opts.config);
  if (!loaded.config) {
    for (const d of loaded.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
    return undefined;
  }
  return loaded.config.workers ?? 1;
}

export const WORKERS_HELP = "worker processes sharing the listeners (default: the configuration's `workers`, else 1)";

/**
 * This process as the cluster primary (src/ops/cluster.ts): the
 * configuration and scripts are checked here once, so a policy that cannot
 * start fails the start instead of sending every worker into a restart
 * loop. Each worker is this command started again with the same arguments.
 */
async function runAsPrimary(configFile: string, workers: number, drainMs: number, io: CliIO, kind: 'serve' | 'beside'): Promise<number> {
  const [{ loadConfig }, { assemble }, { createLogger }, { runPrimary }] = await Promise.all([
    import('../config/index.js'),
    import('../server/assemble.js'),
    import('../server/logger.js'),
    import('../ops/cluster.js'),
  ]);
  const loaded = await loadConfig(configFile);
  const checked = loaded.config ? await assemble(loaded.config) : undefined;
  if (!loaded.config || !checked?.assembled) {
    for (const d of [...loaded.diagnostics, ...(checked?.diagnostics ?? [])]) io.err(`${formatDiagnostic(d)}\n`);
    return EXIT.failure;
  }
  const logger = createLogger(loaded.config.logging).child({ role: 'primary' });
  // At SIGHUP the primary compiles the new configuration first (it serves no session, so that stalls none).
  const checkReload = async () => {
    const again = await loadConfig(configFile);
    return again.config ? [...again.diagnostics, ...(await assemble(again.config)).diagnostics] : again.diagnostics;
  };
  await runPrimary({ workers, config: loaded.config, drainMs, logger, kind, checkReload });
  logger.flush?.();
  return EXIT.ok;
}
