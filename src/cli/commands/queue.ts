/**
 * `smtp-cbv queue list|show|flush|delete|bounce`: the operator's view of
 * the delivery queue (docs/delivery.md, "Operating the queue"). Each
 * subcommand is its own file; changes are commands appended to the entry,
 * which a running server applies at once and a stopped one at its start.
 */
import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import type { ExitCodeSink } from '../main.js';
import { registerQueueBounce } from './queue-bounce.js';
import { registerQueueDelete } from './queue-delete.js';
import { registerQueueFlush } from './queue-flush.js';
import { registerQueueList } from './queue-list.js';
import { registerQueueShow } from './queue-show.js';

export function registerQueue(program: Command, io: CliIO, exit: ExitCodeSink): void {
  const queue = program.command('queue').description('inspect and act on the delivery queue');
  for (const register of [registerQueueList, registerQueueShow, registerQueueFlush, registerQueueDelete, registerQueueBounce]) register(queue, io, exit);
}
