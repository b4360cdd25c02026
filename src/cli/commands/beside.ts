/**
 * The subcommands that run smtp-cbv beside an MTA (`policy`, `milter`):
 * the same options and lifecycle as `serve`, another front door
 * (docs/postfix.md).
 */
import type { Command } from 'commander';
import { formatDiagnostic } from '../../diagnostics.js';
import type { BesideKind } from '../../frontdoors/run-beside.js';
import { type CliIO, EXIT } from '../io.js';
import type { ExitCodeSink, RegisterCommand } from '../main.js';

export function besideCommand(kind: BesideKind, description: string): RegisterCommand {
  return (program: Command, io: CliIO, exit: ExitCodeSink) => {
    program
      .command(kind)
      .description(description)
      .requiredOption('-c, --config <file>', 'the configuration file (ecelerity.conf syntax)')
      .option('-l, --listen <host:port>', `where to listen (default: the configuration's ${kind === 'policy' ? 'Policy_Listener' : 'Milter_Listener'} listen)`)
      .option('--drain <seconds>', 'on SIGTERM, how long open connections may finish before they are closed', '10')
      .action(async (opts: { config: string; listen?: string; drain: string }) => {
        const { parseHostPort } = await import('../../config/values.js');
        const listen = opts.listen === undefined ? undefined : parseHostPort(opts.listen);
        if (listen === undefined && opts.listen !== undefined) {
          io.err(`smtp-cbv ${kind}: --listen expects an IP address and port such as 127.0.0.1:10040, found '${opts.listen}'\n`);
          exit.code = EXIT.usage;
          return;
        }
        // Imported when the front door runs: other subcommands need none of it (start-up time).
        const [{ startBeside }, { runUntilSignal }] = await Promise.all([import('../../frontdoors/run-beside.js'), import('../until-signal.js')]);
        const { running, diagnostics } = await startBeside(kind, opts.config, listen ? { listen } : {});
        if (!running) {
          for (const d of diagnostics) io.err(`${formatDiagnostic(d)}\n`);
          exit.code = EXIT.failure;
          return;
        }
        await runUntilSignal(running, Math.max(0, Number(opts.drain) || 0) * 1000);
        exit.code = EXIT.ok;
      });
  };
}
