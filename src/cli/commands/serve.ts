/**
 * `smtp-cbv serve --config FILE`: run the SMTP server. SIGTERM/SIGINT stop
 * it gracefully (sessions may finish for --drain seconds); SIGHUP reloads
 * the configuration and scripts without dropping sessions.
 *
 * With `--workers N` (or `workers = N`) above 1 this process becomes the
 * cluster primary (src/ops/cluster.ts) and each worker, started again
 * with the same arguments, runs the server below.
 */
import cluster from 'node:cluster';
import type { Command } from 'commander';
import { formatDiagnostic } from '../../diagnostics.js';
import { type CliIO, EXIT } from '../io.js';
import type { ExitCodeSink } from '../main.js';

// The server's modules are imported when serve runs: other subcommands need none of them (start-up time).

interface ServeOptions {
  config: string;
  drain: string;
  workers?: string;
}

export function registerServe(program: Command, io: CliIO, exit: ExitCodeSink): void {
  program
    .command('serve')
    .description('run the SMTP policy server')
    .requiredOption('-c, --config <file>', 'the configuration file (ecelerity.conf syntax)')
    .option('--drain <seconds>', 'on SIGTERM, how long sessions may finish before they are closed', '30')
    .option('--workers <n>', 'worker processes sharing the listeners (default: the configuration\'s `workers`, else 1)')
    .action(async (opts: ServeOptions) => {
      const drainMs = Math.max(0, Number(opts.drain) || 0) * 1000;
      if (cluster.isPrimary) {
        const workers = await workerCount(opts, io);
        if (workers === undefined) {
          exit.code = EXIT.failure;
          return;
        }
        if (workers > 1) {
          exit.code = await primary(opts.config, workers, drainMs, io);
          return;
        }
      }
      exit.code = await serve(opts.config, drainMs, io);
    });
}

/** How many workers: --workers, else the configuration's; undefined when the configuration does not load. */
async function workerCount(opts: ServeOptions, io: CliIO): Promise<number | undefined> {
  if (opts.workers !== undefined) {
    const n = Number(opts.workers);
    if (Number.isInteger(n) && n >= 1 && n <= 64) return n;
    io.err(`smtp-cbv serve: --workers expects an integer from 1 to 64, found '${opts.workers}'\n`);
    return undefined;
  }
  const { loadConfig } = await import('../../config/index.js');
  const loaded = await loadConfig(opts.config);
  if (!loaded.config) {
    for (const d of loaded.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
    return undefined;
  }
  return loaded.config.workers ?? 1;
}

async function primary(configFile: string, workers: number, drainMs: number, io: CliIO): Promise<number> {
  const [{ loadConfig }, { assemble }, { createLogger }, { runPrimary }] = await Promise.all([
    import('../../config/index.js'),
    import('../../server/assemble.js'),
    import('../../server/logger.js'),
    import('../../ops/cluster.js'),
  ]);
  const loaded = await loadConfig(configFile);
  // Scripts are compiled here once too: a policy that cannot start should
  // fail the start, not send every worker into a restart loop.
  const checked = loaded.config ? await assemble(loaded.config) : undefined;
  if (!loaded.config || !checked?.assembled) {
    for (const d of [...loaded.diagnostics, ...(checked?.diagnostics ?? [])]) io.err(`${formatDiagnostic(d)}\n`);
    return EXIT.failure;
  }
  const logger = createLogger(loaded.config.logging).child({ role: 'primary' });
  await runPrimary({ workers, config: loaded.config, drainMs, logger });
  logger.flush?.();
  return EXIT.ok;
}

/** One server process: alone, or as a cluster worker. */
async function serve(configFile: string, drainMs: number, io: CliIO): Promise<number> {
  const [{ reportListening, shareWorkerMetrics }, { Metrics }, { startFromConfig }, { runUntilSignal }] = await Promise.all([
    import('../../ops/cluster.js'),
    import('../../ops/metrics.js'),
    import('../../server/run.js'),
    import('../until-signal.js'),
  ]);
  const worker = cluster.isWorker;
  const metrics = new Metrics();
  if (worker) shareWorkerMetrics(metrics);
  const { running, diagnostics } = await startFromConfig(configFile, worker ? { opsListener: false, recoverSpool: false, metrics, workerId: cluster.worker?.id } : { metrics });
  if (!running) {
    for (const d of diagnostics) io.err(`${formatDiagnostic(d)}\n`);
    return EXIT.failure;
  }
  if (worker) reportListening(running.addresses);
  await runUntilSignal(running, drainMs);
  // A worker must leave: its IPC channel to the primary would keep it alive.
  if (worker) cluster.worker?.disconnect();
  return EXIT.ok;
}
