/**
 * `smtp-cbv serve --config FILE`: run the SMTP server. SIGTERM/SIGINT stop
 * it gracefully (sessions may finish for --drain seconds); SIGHUP reloads
 * the configuration and scripts without dropping sessions.
 */
import type { Command } from 'commander';
import { formatDiagnostic } from '../../diagnostics.js';
import { startFromConfig } from '../../server/run.js';
import { type CliIO, EXIT } from '../io.js';
import { runUntilSignal } from '../until-signal.js';
import type { ExitCodeSink } from '../main.js';

export function registerServe(program: Command, io: CliIO, exit: ExitCodeSink): void {
  program
    .command('serve')
    .description('run the SMTP policy server')
    .requiredOption('-c, --config <file>', 'the configuration file (ecelerity.conf syntax)')
    .option('--drain <seconds>', 'on SIGTERM, how long sessions may finish before they are closed', '30')
    .action(async (opts: { config: string; drain: string }) => {
      const drainMs = Math.max(0, Number(opts.drain) || 0) * 1000;
      const { running, diagnostics } = await startFromConfig(opts.config);
      if (!running) {
        for (const d of diagnostics) io.err(`${formatDiagnostic(d)}\n`);
        exit.code = EXIT.failure;
        return;
      }
      await runUntilSignal(running, drainMs);
      exit.code = EXIT.ok;
    });
}
