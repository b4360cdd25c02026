/**
 * Start-up, before the journals are compacted: the messages written
 * "journal first" (maildir.ts) that no checkpoint covered. Their files were
 * written without syncs, so after a power loss a file may be missing, or
 * hold less than it should, while its record, with the message's octets, is
 * durable in the journal.
 *
 * - Journals of an earlier boot of the machine (their first line names it):
 *   each such message's file is compared with its octets and written again,
 *   durably, when it differs or is gone. A message that a reader had already
 *   taken and deleted comes back too: after a power loss the spool delivers
 *   at least once, never less.
 * - Journals of this boot: only the process died; the kernel kept every
 *   file it was given, so a message that is gone was deleted (or never
 *   acknowledged), and stays gone. One syncfs(2) makes the rest durable.
 *
 * Afterwards the records' octets are no longer needed, and compactJournal
 * drops them; if the sync failed they are kept, and so is the rest.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { syncDir } from './dir-sync.js';
import { appendedElsewhere, JOURNAL, parseRecord } from './envelope-journal.js';
import { writeDurably } from './write-pieces.js';

/** What start-up did with the journal-first messages no checkpoint covered. */
export interface JournalFirstRecovery {
  /** Files written again from their records (after a reboot). */
  restored: number;
  /** The messages are durable: compaction may drop their octets. */
  durable: boolean;
  /** Records that could not be written back, and why: they stay in the journal, with their octets. */
  failed?: Array<{ id: string; error: string }>;
}

/** A record that carries its message's octets. */
interface Unsynced {
  id: string;
  folder: string;
  octets: Buffer;
}

/** The spool as this needs it (maildir.ts's MaildirSpool). */
export interface RestoreTarget {
  dir: string;
  envelopeDir: string;
  folderDir(folder: string): string;
  visiblePaths(): Promise<Map<string, string>>;
}

export async function recoverJournalFirst(spool: RestoreTarget, bootId: string | undefined = currentBootId()): Promise<JournalFirstRecovery> {
  const names = (await readdir(spool.envelopeDir).catch(() => [] as string[])).filter((n) => JOURNAL.test(n) && !appendedElsewhere(n)).sort();
  const restore: Unsynced[] = [];
  let sameBoot = false;
  for (const name of names) {
    const { boot, unsynced } = readJournal(join(spool.envelopeDir, name));
    if (unsynced.length === 0) continue;
    if (bootId !== undefined && boot === bootId) sameBoot = true;
    else restore.push(...unsynced);
  }
  let restored = 0;
  const failed: Array<{ id: string; error: string }> = [];
  if (restore.length) {
    const visible = await spool.visiblePaths();
    const dirs = new Set<string>();
    for (const r of restore) {
      try {
        const at = visible.get(r.id);
        if (at !== undefined && (await readFile(at).catch(() => undefined))?.equals(r.octets)) continue;
        const path = at ?? join(spool.folderDir(r.folder), 'new', r.id);
        // A folder made in the second before the power loss may be gone with it.
        if (at === undefined) for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(spool.folderDir(r.folder), sub), { recursive: true });
        const tmp = join(spool.dir, 'tmp', `${r.id}.restore`);
        await writeDurably(tmp, [r.octets]);
        await rename(tmp, path);
        dirs.add(dirname(path));
        visible.set(r.id, path);
        restored++;
      } catch (e) {
        // One record that cannot be written back (a folder name no spool would make, a full disk) must not keep the
        // server from starting: its octets stay in the journal for the next start, and the rest are written.
        failed.push({ id: r.id, error: (e as Error).message });
      }
    }
    for (const d of dirs) await syncDir(d);
  }
  // Everything of this boot is in the page cache: one sync of the file system makes it durable.
  const durable = failed.length === 0 && (!sameBoot || spawnSync('sync', ['-f', spool.dir], { stdio: 'ignore' }).status === 0);
  return { restored, durable, ...(failed.length ? { failed } : {}) };
}

/** The machine's boot (journals name the boot they were written in); undefined off Linux. */
export function currentBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * A journal's boot, and its records with octets that no checkpoint covered:
 * those starting at or after the greatest `checkpoint` offset of a mark that
 * names this file (a mark names the file its offset is in).
 */
function readJournal(file: string): { boot: string | undefined; unsynced: Unsynced[] } {
  const text = readFileSync(file);
  let boot: string | undefined;
  let covered = 0;
  const withOctets: Array<Unsynced & { offset: number }> = [];
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf(0x0a, start);
    // A torn last line: its message was never acknowledged.
    if (end < 0) break;
    const line = text.toString('utf8', start, end);
    const r = parseRecord(line);
    if (r && typeof r.boot === 'string' && boot === undefined) boot = r.boot;
    else if (r && typeof r.checkpoint === 'number' && r.file === basename(file)) covered = Math.max(covered, r.checkpoint);
    else if (r && typeof r.id === 'string' && typeof r.octets === 'string' && typeof r.folder === 'string') withOctets.push({ id: r.id, folder: r.folder, octets: Buffer.from(r.octets, 'base64'), offset: start });
    start = end + 1;
  }
  return { boot, unsynced: withOctets.filter((r) => r.offset >= covered) };
}
