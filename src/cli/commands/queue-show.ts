/** `smtp-cbv queue show ID --config FILE [--json]`: one entry: envelope, recipients, and the message's header section. */
import type { Command } from 'commander';
import { type CliIO, EXIT } from '../io.js';
import type { ExitCodeSink } from '../main.js';
import { entryJson, findEntry, type QueueOpts, queueFiles } from './queue-common.js';

export function registerQueueShow(queue: Command, io: CliIO, exit: ExitCodeSink): void {
  queue
    .command('show')
    .description('show one queue entry')
    .argument('<id>', 'the queue id')
    .requiredOption('-c, --config <file>', 'the configuration file (names queue_dir)')
    .option('--json', 'one JSON object')
    .action(async (id: string, opts: QueueOpts) => {
      const files = await queueFiles(opts, io, exit);
      if (!files) return;
      const found = await findEntry(files, id, io, exit);
      if (!found) return;
      const { HEADER_SECTION_LIMIT, headerSection } = await import('../../delivery/dsn.js');
      const headers = headerSection(await (await files.message(id)).head(HEADER_SECTION_LIMIT));
      const e = { ...entryJson(found), headers };
      if (opts.json) io.out(`${JSON.stringify(e, null, 2)}\n`);
      else {
        io.out(`id: ${e.id}\nkind: ${e.kind}\nfrom: <${e.from}>\nreceived: ${e.receivedAt}\nsize: ${e.size}\n`);
        for (const r of e.recipients) io.out(`to: <${r.address}>${r.gateway ? ` (gateway ${r.gateway})` : ''} ${r.state}, ${r.attempts} attempt(s)${r.hop ? ` via ${r.hop}` : ''}${r.reply ? `: ${r.reply}` : ''}${'nextAttempt' in r ? `; next ${r.nextAttempt}` : ''}\n`);
        io.out(`\n${headers.replace(/\r\n/g, '\n')}\n`);
      }
      exit.code = EXIT.ok;
    });
}
