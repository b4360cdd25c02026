/**
 * What the `smtp-cbv queue ...` subcommands share: finding the queue from
 * the configuration, finding one entry, and the JSON shape of an entry.
 */
import type { Command } from 'commander';
import { formatGateway } from '../../config/gateway.js';
import { formatDiagnostic, hasErrors } from '../../diagnostics.js';
import type { EntryState } from '../../delivery/queue-entry.js';
import type { AllShards } from '../../delivery/queue-shards.js';

// The configuration and queue modules are imported when a queue command runs: the
// other subcommands need none of them (start-up time).
export const queueModules = () =>
  Promise.all([import('../../delivery/queue-commands.js'), import('../../delivery/queue-file.js'), import('../../delivery/queue-shards.js')]).then(([commands, file, shards]) => ({ ...commands, ...file, ...shards }));
import { type CliIO, EXIT } from '../io.js';
import type { ExitCodeSink } from '../main.js';

export interface QueueOpts {
  config: string;
  json?: boolean;
}

/** The queue the configuration names, every worker's share of it; null (exit code set) when the configuration has errors. */
export async function queueFiles(opts: QueueOpts, io: CliIO, exit: ExitCodeSink): Promise<AllShards | null> {
  const [{ loadConfig }, { AllShards }] = await Promise.all([import('../../config/index.js'), queueModules()]);
  const { config, diagnostics } = await loadConfig(opts.config);
  if (!config || hasErrors(diagnostics)) {
    for (const d of diagnostics) io.err(`${formatDiagnostic(d)}\n`);
    exit.code = EXIT.config;
    return null;
  }
  return AllShards.open(config.delivery.queueDir);
}

/** The entry with this id, or null with EX_NOINPUT and a message. */
export async function findEntry(files: AllShards, id: string, io: CliIO, exit: ExitCodeSink): Promise<{ state: EntryState; size: number } | null> {
  const { isQueueId, readEntries } = await queueModules();
  const found = isQueueId(id) ? (await readEntries(files)).find((e) => e.state.header.id === id && !e.state.deleted) : undefined;
  if (!found) {
    io.err(`smtp-cbv queue: no queue entry ${JSON.stringify(id)}\n`);
    exit.code = EXIT.noinput;
    return null;
  }
  return found;
}

export function entryJson(e: { state: EntryState; size: number }) {
  const h = e.state.header;
  return {
    id: h.id,
    kind: h.kind,
    from: h.from,
    receivedAt: new Date(h.receivedAt).toISOString(),
    size: e.size,
    ...(h.about ? { about: h.about } : {}),
    recipients: e.state.recipients.map((r, i) => ({
      address: r.address,
      // The gateway a script chose for it (ec_set_routing_gateway), which its copy goes to instead of its domain's route.
      ...(h.recipients[i]?.gateway ? { gateway: formatGateway(h.recipients[i]!.gateway!) } : {}),
      state: r.state,
      attempts: r.attempts,
      ...(r.state === 'deferred' ? { nextAttempt: new Date(r.next).toISOString() } : {}),
      ...(r.hop ? { hop: r.hop } : {}),
      ...(r.reply ? { reply: `${r.reply.code}${r.reply.enhanced ? ` ${r.reply.enhanced}` : ''} ${r.reply.text}` } : {}),
    })),
  };
}

/** `queue delete ID` and `queue bounce ID`: one command appended to one entry. */
export function registerEntryCommand(queue: Command, io: CliIO, exit: ExitCodeSink, c: { command: 'delete' | 'bounce'; description: string; done: string }): void {
  queue
    .command(c.command)
    .description(c.description)
    .argument('<id>', 'the queue id')
    .requiredOption('-c, --config <file>', 'the configuration file (names queue_dir)')
    .option('--json', 'the result as JSON')
    .action(async (id: string, opts: QueueOpts) => {
      const files = await queueFiles(opts, io, exit);
      if (!files || !(await findEntry(files, id, io, exit))) return;
      try {
        await (await queueModules()).appendCommand(files, id, c.command);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        io.err(`smtp-cbv queue: entry ${id} is gone (delivered meanwhile)\n`);
        exit.code = EXIT.noinput;
        return;
      }
      io.out(opts.json ? `${JSON.stringify({ [c.done]: id })}\n` : `${c.done} ${id}\n`);
      exit.code = EXIT.ok;
    });
}
