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
import { primaryExit, WORKERS_HELP } from '../cluster-primary.js';

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
    .option('--workers <n>', WORKERS_HELP)
    .action(async (opts: ServeOptions) => {
      const drainMs = Math.max(0, Number(opts.drain) || 0) * 1000;
      const asPrimary = await primaryExit('serve', opts, drainMs, io, 'serve');
      if (asPrimary !== undefined) {
        exit.code = asPrimary;
        return;
      }
      exit.code = await serve(opts.config, drainMs, io);
    });
}

/** One server process: alone, or as a cluster worker. */
async function serve(configFile: string, drainMs: number, io: CliIO): Promise<number> {
  const [{ reportListening, shareWorkerMetrics }, { reportReloaded }, { Metrics }, { startFromConfig }, { runUntilSignal }] = await Promise.all([
    import('../../ops/cluster.js'),
    import('../../ops/rolling-reload.js'),
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
  await runUntilSignal(running, drainMs, worker ? reportReloaded : undefined);
  // A worker must leave: its IPC channel to the primary would keep it alive.
  if (worker) cluster.worker?.disconnect();
  return EXIT.ok;
}
