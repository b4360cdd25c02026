/**
 * Operator commands on the queue (`smtp-cbv queue flush|delete|bounce`):
 * a command is a record appended to the entry's own file, so it holds
 * whether or not a server is running, and a running server is woken by a
 * control file to apply it now. The server applies each command once
 * (commands carry ids) and at start-up applies those it has not seen.
 */
import { randomBytes } from 'node:crypto';
import { replay, type EntryState } from './queue-entry.js';
import type { EntryOnDisk, EntryRecord } from './queue-file.js';

export type Command = 'flush' | 'delete' | 'bounce';

/** What the commands need of the queue's files: one share's (QueueFiles) or every share's (AllShards, queue-shards.ts). */
export interface QueueReader {
  ids(removeLeftovers: false): Promise<string[]>;
  entry(id: string): Promise<EntryOnDisk>;
  append(id: string, records: readonly EntryRecord[]): Promise<void>;
  kick(id: string): Promise<void>;
}

export async function appendCommand(files: QueueReader, id: string, command: Command): Promise<void> {
  await files.append(id, [{ t: command, c: randomBytes(6).toString('hex'), at: Date.now() }]);
  await files.kick(id);
}

/** Every entry's state as its file tells it (the CLI's view; a running server may be further on). */
export async function readEntries(files: QueueReader): Promise<Array<{ state: EntryState; size: number }>> {
  const out: Array<{ state: EntryState; size: number }> = [];
  for (const id of await files.ids(false)) {
    try {
      const file = await files.entry(id);
      out.push({ state: replay(file), size: file.header.size });
    } catch {
      // Gone meanwhile (delivered), or being written: not listed.
    }
  }
  return out;
}
