/**
 * The spool's envelope journal (docs/server.md, "The spool"): the envelope
 * of every message is one line of JSON appended to a file in envelopes/
 * (`<time>.P<pid>.R<random>.journal`), with the message's Maildir name as
 * `id`, instead of a file of its own per message. Creating a file, and
 * syncing it and its directory, cost this project's test machine more
 * kernel time than the rest of a message's storing; an append shares its
 * fdatasync with every record appended while the one before it ran.
 *
 * Each process appends to its own file (the spool writer's thread,
 * journal-append-thread.ts, is its only writer), and starts a new one past a
 * size. A record counts only while its message is in a folder's new/ or
 * cur/: a record is made durable before its message is renamed into new/,
 * so a crash can leave a record without a message (dropped here at
 * start-up) but never an acknowledged message without its record. A crash
 * while appending can leave a torn last line, which is skipped: its message
 * was never renamed.
 *
 * Spools written before the journal have `envelopes/<id>.json`, one per
 * message; they are read the same way and folded into the journal at
 * start-up.
 *
 * While running: whenever a journal reaches its size and a new one starts,
 * the spool writer's thread compacts the journals its process closed
 * (spool-writer-thread.ts compact()), with the same order of writes as
 * compactJournal below, keeping also the records of messages still being
 * delivered (maildir.ts), whose records may be durable before their
 * messages are visible.
 */
import { closeSync, constants, fdatasync, openSync, writeSync } from 'node:fs';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { syncDir } from './dir-sync.js';

export const JOURNAL = /\.journal$/;
const OLD_ENVELOPE = /\.json$/;

/** The record of one message: a line of JSON, its line break included (JSON escapes any in the values). */
export function journalRecord(id: string, envelope: object): string {
  return `${JSON.stringify({ id, ...envelope })}\n`;
}

/**
 * journalRecord(id, { ...envelope, folder }) for an envelope of named
 * fields with neither an `id` nor a `folder`: the same line, without the two copies
 * of the envelope: this runs for every accepted message, on the event loop.
 */
export function messageRecord(id: string, envelope: object, folder: string): string {
  const fields = JSON.stringify(envelope);
  return `{"id":${JSON.stringify(id)},${fields.length > 2 ? `${fields.slice(1, -1)},` : ''}"folder":${JSON.stringify(folder)}}\n`;
}

/** Every record in `dir` (journals and old per-message files), by message name; the last of a name wins (they are the same). */
export async function readRecords(dir: string, skip: (name: string) => boolean = () => false): Promise<{ records: Map<string, string>; files: string[] }> {
  const records = new Map<string, string>();
  const files = (await readdir(dir).catch(() => [] as string[])).filter((n) => (JOURNAL.test(n) || OLD_ENVELOPE.test(n)) && !skip(n)).sort();
  for (const name of files) {
    const text = await readFile(join(dir, name), 'utf8');
    if (OLD_ENVELOPE.test(name)) {
      // The old layout: the name is the message's, the file a whole (pretty-printed) JSON object.
      const id = name.replace(OLD_ENVELOPE, '');
      const envelope = parseRecord(text);
      if (envelope) records.set(id, journalRecord(id, envelope));
      continue;
    }
    for (const line of text.split('\n')) {
      const r = line ? parseRecord(line) : undefined;
      if (r && typeof r.id === 'string') records.set(r.id, `${line}\n`);
    }
  }
  return { records, files };
}

/** A journal line as an object; undefined for a torn or foreign line. */
export function parseRecord(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    // A torn last record: its message was never made visible.
    return undefined;
  }
}

/**
 * Start-up, before any writer: keeps the records of the messages in
 * `visible` in one journal and removes every other journal and old
 * envelope file. The new journal is durable, and named, before anything is
 * removed, so a crash in between leaves records twice (the same ones),
 * never none. The journal of another process still running on this spool
 * is left alone: it is still being appended to. Returns how many records
 * were dropped.
 */
export async function compactJournal(dir: string, visible: ReadonlySet<string>, durable = true): Promise<number> {
  // A compaction a crash interrupted: the files it read are all still there.
  for (const name of await readdir(dir)) if (name.endsWith('.compacting')) await rm(join(dir, name), { force: true });
  const { records, files } = await readRecords(dir, appendedElsewhere);
  const kept: string[] = [];
  let dropped = 0;
  let octets = false;
  for (const [id, line] of records) {
    if (!visible.has(id)) dropped++;
    else if (durable && line.includes('"octets":')) {
      kept.push(withoutOctets(line));
      octets = true;
    } else kept.push(line);
  }
  const alone = files.length === 1 && JOURNAL.test(files[0]!);
  if (files.length === 0 || (alone && dropped === 0 && !octets && (await wholeLines(join(dir, files[0]!))))) return dropped;
  if (kept.length) {
    const name = `${Date.now()}.P${process.pid}.compacted`;
    const tmp = join(dir, `${name}.compacting`);
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeSync(fd, kept.join(''));
      await promisify(fdatasync)(fd);
    } finally {
      closeSync(fd);
    }
    await rename(tmp, join(dir, `${name}.journal`));
    await syncDir(dir);
  }
  for (const name of files) await rm(join(dir, name), { force: true });
  return dropped;
}

/** A record without the octets of its message (maildir.ts, "Journal first"): once the message's file is durable they are not needed. */
export function withoutOctets(line: string): string {
  const { octets: _, ...record } = JSON.parse(line) as Record<string, unknown>;
  return journalRecord(record.id as string, record);
}

/** A journal whose writer, named in it, is a running process other than this one. */
export function appendedElsewhere(name: string): boolean {
  const pid = /\.P(\d+)\.R[0-9a-f]+\.journal$/.exec(name)?.[1];
  if (pid === undefined || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (e) {
    // EPERM: a process of another user has that number, so it is running.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** False when the file ends in a torn record: compacting it leaves a journal that new records can follow. */
async function wholeLines(file: string): Promise<boolean> {
  const text = await readFile(file);
  return text.length === 0 || text[text.length - 1] === 0x0a;
}
