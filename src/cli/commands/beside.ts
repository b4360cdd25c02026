/**
 * The subcommands that run smtp-cbv beside an MTA (`policy`, `milter`):
 * the same options and lifecycle as `serve`, another front door
 * (docs/postfix.md). With `--workers N` (or `workers = N`) above 1 this
 * process becomes the cluster primary and each worker, started again with
 * the same arguments, runs the front door (docs/postfix.md, "Workers").
 */
import cluster from 'node:cluster';
import type { Command } from 'commander';
import { formatDiagnostic } from '../../diagnostics.js';
import type { BesideKind } from '../../frontdoors/run-beside.js';
import { type CliIO, EXIT } from '../io.js';
import type { ExitCodeSink, RegisterCommand } from '../main.js';
import { primaryExit, WORKERS_HELP } from '../cluster-primary.js';

export function besideCommand(kind: BesideKind, description: string): RegisterCommand {
  return (program: Command, io: CliIO, exit: ExitCodeSink) => {
    program
      .command(kind)
      .description(description)
      .requiredOption('-c, --config <file>', 'the configuration file (ecelerity.conf syntax)')
      .option('-l, --listen <host:port>', `where to listen (default: the configuration's ${kind === 'policy' ? 'Policy_Listener' : 'Milter_Listener'} listen)`)
      .option('--drain <seconds>', 'on SIGTERM, how long open connections may finish before they are closed', '10')
      .option('--workers <n>', WORKERS_HELP)
      .action(async (opts: { config: string; listen?: string; drain: string; workers?: string }) => {
        const { parseHostPort } = await import('../../config/values.js');
        const listen = opts.listen === undefined ? undefined : parseHostPort(opts.listen);
        if (listen === undefined && opts.listen !== undefined) {
          io.err(`smtp-cbv ${kind}: --listen expects an IP address and port such as 127.0.0.1:10040, found '${opts.listen}'\n`);
          exit.code = EXIT.usage;
          return;
        }
        const drainMs = Math.max(0, Number(opts.drain) || 0) * 1000;
        const asPrimary = await primaryExit(kind, opts, drainMs, io, 'beside');
        if (asPrimary !== undefined) {
          exit.code = asPrimary;
          return;
        }
        // Imported when the front door runs: other subcommands need none of it (start-up time).
        const [{ startBeside }, { runUntilSignal }, { reportListening }, { reportReloaded }] = await Promise.all([
          import('../../frontdoors/run-beside.js'),
          import('../until-signal.js'),
          import('../../ops/cluster.js'),
          import('../../ops/rolling-reload.js'),
        ]);
        const worker = cluster.isWorker;
        const { running, diagnostics } = await startBeside(kind, opts.config, { ...(listen ? { listen } : {}), ...(worker ? { workerId: cluster.worker?.id } : {}) });
        if (!running) {
          for (const d of diagnostics) io.err(`${formatDiagnostic(d)}\n`);
          exit.code = EXIT.failure;
          return;
        }
        if (worker) reportListening([running.address]);
        await runUntilSignal(running, drainMs, worker ? reportReloaded : undefined);
        // A worker must leave: its IPC channel to the primary would keep it alive.
        if (worker) cluster.worker?.disconnect();
        exit.code = EXIT.ok;
      });
  };
}
