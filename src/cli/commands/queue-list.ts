/** `smtp-cbv queue list --config FILE [--json]`: every entry in the delivery queue, oldest first. */
import type { Command } from 'commander';
import { type CliIO, EXIT } from '../io.js';
import type { ExitCodeSink } from '../main.js';
import { entryJson, type QueueOpts, queueFiles, queueModules } from './queue-common.js';

export function registerQueueList(queue: Command, io: CliIO, exit: ExitCodeSink): void {
  queue
    .command('list')
    .description('list the entries of the delivery queue')
    .requiredOption('-c, --config <file>', 'the configuration file (names queue_dir)')
    .option('--json', 'one JSON array')
    .action(async (opts: QueueOpts) => {
      const files = await queueFiles(opts, io, exit);
      if (!files) return;
      const { readEntries } = await queueModules();
      const entries = (await readEntries(files)).filter((e) => !e.state.deleted).map(entryJson);
      if (opts.json) io.out(`${JSON.stringify(entries, null, 2)}\n`);
      else {
        for (const e of entries) {
          io.out(`${e.id}  ${e.kind.padEnd(8)} ${String(e.size).padStart(8)}  ${e.receivedAt}  <${e.from}>\n`);
          for (const r of e.recipients) io.out(`    <${r.address}> ${r.state}${r.attempts ? ` after ${r.attempts} attempt(s)` : ''}${r.reply ? `: ${r.reply}` : ''}\n`);
        }
        io.out(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}\n`);
      }
      exit.code = EXIT.ok;
    });
}
