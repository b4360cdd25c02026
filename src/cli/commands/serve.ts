/**
 * `smtp-cbv serve --config FILE`: run the SMTP server. SIGTERM/SIGINT stop
 * it gracefully (sessions may finish for --drain seconds); SIGHUP reloads
 * the configuration and scripts without dropping sessions.
 */
import type { Command } from 'commander';
import { formatDiagnostic } from '../../diagnostics.js';
import { type CliIO, EXIT } from '../io.js';
import type { ExitCodeSink } from '../main.js';

export function registerServe(program: Command, io: CliIO, exit: ExitCodeSink): void {
  program
    .command('serve')
    .description('run the SMTP policy server')
    .requiredOption('-c, --config <file>', 'the configuration file (ecelerity.conf syntax)')
    .option('--drain <seconds>', 'on SIGTERM, how long sessions may finish before they are closed', '30')
    .action(async (opts: { config: string; drain: string }) => {
      const drainMs = Math.max(0, Number(opts.drain) || 0) * 1000;
      // Imported here: the other subcommands need none of the server.
      const { startFromConfig } = await import('../../server/run.js');
      const { running, diagnostics } = await startFromConfig(opts.config);
      if (!running) {
        for (const d of diagnostics) io.err(`${formatDiagnostic(d)}\n`);
        exit.code = EXIT.failure;
        return;
      }
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          running.logger.info({ event: 'signal', signal, drainMs }, `${signal}: stopping`);
          void running.stop(drainMs).then(resolve);
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGHUP', () => {
          running.logger.info({ event: 'signal', signal: 'SIGHUP' }, 'SIGHUP: reloading');
          void running.reload();
        });
      });
      running.logger.flush?.();
      exit.code = EXIT.ok;
    });
}
