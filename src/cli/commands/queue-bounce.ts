/**
 * `smtp-cbv queue bounce ID --config FILE [--json]`: every undelivered
 * recipient is returned to the sender now, in an RFC 3464 bounce (a running
 * server applies it at once, a stopped one at its start).
 */
import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import type { ExitCodeSink } from '../main.js';
import { registerEntryCommand } from './queue-common.js';

export function registerQueueBounce(queue: Command, io: CliIO, exit: ExitCodeSink): void {
  registerEntryCommand(queue, io, exit, { command: 'bounce', description: 'return an entry to its sender now (RFC 3464 bounce)', done: 'bounced' });
}
