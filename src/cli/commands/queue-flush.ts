/** `smtp-cbv queue flush [ID] --config FILE [--json]`: deferred recipients (of one entry, or of all) are due now. */
import type { Command } from 'commander';
import { type CliIO, EXIT } from '../io.js';
import type { ExitCodeSink } from '../main.js';
import { findEntry, type QueueOpts, queueFiles, queueModules } from './queue-common.js';

export function registerQueueFlush(queue: Command, io: CliIO, exit: ExitCodeSink): void {
  queue
    .command('flush')
    .description('retry deferred recipients now (one entry, or every entry)')
    .argument('[id]', 'the queue id; all entries without it')
    .requiredOption('-c, --config <file>', 'the configuration file (names queue_dir)')
    .option('--json', 'the flushed ids as JSON')
    .action(async (id: string | undefined, opts: QueueOpts) => {
      const files = await queueFiles(opts, io, exit);
      if (!files) return;
      const { appendCommand, readEntries } = await queueModules();
      let ids: string[];
      if (id) {
        if (!(await findEntry(files, id, io, exit))) return;
        ids = [id];
      } else ids = (await readEntries(files)).filter((e) => !e.state.deleted).map((e) => e.state.header.id);
      for (const i of ids) await appendCommand(files, i, 'flush');
      io.out(opts.json ? `${JSON.stringify({ flushed: ids })}\n` : `flushed ${ids.length} entr${ids.length === 1 ? 'y' : 'ies'}\n`);
      exit.code = EXIT.ok;
    });
}
