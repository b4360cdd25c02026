/**
 * `smtp-cbv queue delete ID --config FILE [--json]`: the entry goes, without
 * a bounce (a running server applies it at once, a stopped one at its start).
 */
import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import type { ExitCodeSink } from '../main.js';
import { registerEntryCommand } from './queue-common.js';

export function registerQueueDelete(queue: Command, io: CliIO, exit: ExitCodeSink): void {
  registerEntryCommand(queue, io, exit, { command: 'delete', description: 'remove an entry from the queue, without a bounce', done: 'deleted' });
}
