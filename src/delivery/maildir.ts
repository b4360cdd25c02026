/**
 * Durable acceptance: a message is on disk, whole, before the client hears
 * 250 to its DATA. The spool is a Maildir (one file per message, written in
 * tmp/ and renamed into new/), with Maildir++ folders for `fileinto`, and
 * the envelope journal in envelopes/ (envelope-journal.ts): one record per
 * message, appended.
 *
 * Journal first, for a message held in memory up to JOURNAL_FIRST octets
 * (most mail), written by the spool writer's thread (spool-writer.ts):
 *   1. its record, with the message's octets, is appended to the journal
 *      and fdatasynced (shared by every record appended while the one before
 *      ran: group commit); the message is now durable;
 *   2. the message -> tmp/<id>, then renamed into <folder>/new/, no syncs;
 *      then 250;
 *   3. within a second, a checkpoint: one syncfs(2) of the spool's file
 *      system makes every file written so far durable, and a mark in the
 *      journal says up to which record (spool-writer-thread.ts).
 * Per message that is one file made, one rename, and a share of the
 * journal's fdatasyncs: no fsync of its own. A crash of the process leaves
 * the files with the kernel, which keeps them; start-up (journal-restore.ts)
 * syncs them, or after a reboot writes again, from the journal, the files
 * no mark covered. The cost: after a power loss, a message a reader took in
 * the second before it can be delivered again (at least once, never lost).
 * The thread writes the durable way below when it cannot make checkpoints
 * (no `sync`, not Linux).
 *
 * Otherwise (a larger message, one spooled to disk as it arrived), order of
 * writes, so that a crash at any point leaves either nothing visible or a
 * complete message with its envelope:
 *   1. at the same time: message -> tmp/<id>, fdatasynced; and the
 *      envelope's record appended to the journal, fdatasynced
 *   2. rename tmp/<id> -> <folder>/new/<id>   (the message becomes visible,
 *      only once it is whole and its record durable)
 *   3. fsync <folder>/new/, the directory the message's name was made in
 * Concurrent deliveries share the directory fsyncs (group commit).
 * tmp/ is not fsynced: a name a crash leaves there is removed by recover().
 * That is, per message, one file made, one fdatasync of it, one rename, and
 * a share of the journal's fdatasyncs and of the directory fsyncs.
 * A message held in memory (up to SMALL_WRITE) is written this way as one
 * job by the spool writer's thread; a larger one, and one spooled to disk
 * as it arrived, from the event loop below (dir-sync.ts shares its
 * directory fsyncs), with its record appended by the thread.
 * A failure removes the message's files and throws; the caller answers 451.
 * Leftovers of a crash (tmp files, records whose message never arrived)
 * are removed by `recover()` at start-up.
 */
import { randomBytes } from 'node:crypto';
import { rename as renameCallback } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { removeFile } from '../remove-file.js';
import { DirSync } from './dir-sync.js';
import { compactJournal, messageRecord, readRecords } from './envelope-journal.js';
import { recoverJournalFirst } from './journal-restore.js';
import { ownBytes, SMALL_WRITE, type SpoolWriter, spoolWriter } from './spool-writer.js';
import type { CompactResult } from './journal-compaction-thread.js';
import { type Piece, writeDurably } from './write-pieces.js';

export interface EnvelopeSidecar {
  mailFrom: string;
  recipients: string[];
  client: { address: string; port?: number; helo?: string; tls?: boolean; user?: string };
  /** CBV verdicts and other context worth keeping, by name. */
  verdicts?: Record<string, unknown>;
  /** When the message was accepted, ISO 8601. */
  receivedAt: string;
  folder: string;
  /** The SMTP transaction id, for matching logs. */
  transaction?: string;
  /** True for the copy that a Sieve redirect sends to new recipients. */
  redirect?: boolean;
}

/** An envelope as the journal holds it: with its message's Maildir name. */
export type StoredEnvelope = EnvelopeSidecar & { id: string };

export interface SpooledMessage {
  id: string;
  folder: string;
  path: string;
}

/**
 * Messages up to this size are written journal first: the journal's
 * records carry their octets, base64 in JSON, a third more; a journal rolls
 * every 64 MiB, so at least about 700 such records fit in one.
 */
const JOURNAL_FIRST = 64 * 1024;

/** The folder `keep` and implicit keep deliver to. */
export const INBOX = 'INBOX';

let sequence = 0;

export class MaildirSpool {
  private readonly dirs = new DirSync();
  /** The envelope journal's directory. */
  readonly envelopeDir: string;
  /** Where messages are written before they are renamed into a folder's new/. */
  private readonly tmpDir: string;
  /** Each folder's new/, joined once: path.join normalises character by character, for every message. */
  private readonly newDirs = new Map<string, string>();
  /**
   * Messages being delivered: from before their record is handed to the
   * writer until deliver settles. A record can be in a closed journal
   * before its message is renamed into new/, so compaction keeps these.
   */
  private readonly delivering = new Set<string>();
  /** The compaction running, if any: one at a time. */
  private compacting: Promise<CompactResult> | undefined;

  constructor(
    readonly dir: string,
    /** Writes small messages and every envelope record (one per process, shared by spools). */
    private readonly writer: SpoolWriter = spoolWriter,
  ) {
    this.envelopeDir = join(dir, 'envelopes');
    this.tmpDir = join(dir, 'tmp');
    // A journal closed past its size is the time to compact (envelope-journal.ts, "While running"); a failure leaves the files as they were.
    writer.onRoll(this.envelopeDir, () => void this.compactJournals().catch(() => undefined));
  }

  /**
   * Compacts, in the spool writer's thread, the journals this process has
   * closed: only records of messages in new/ or cur/, or being delivered,
   * are kept (envelope-journal.ts, "While running"). Runs on its own when
   * a journal reaches its size limit.
   */
  async compactJournals(): Promise<CompactResult> {
    while (this.compacting) await this.compacting.catch(() => undefined);
    const running = this.writer.compact({ dir: this.envelopeDir, spoolDir: this.dir, keep: [...this.delivering] });
    this.compacting = running;
    try {
      return await running;
    } finally {
      this.compacting = undefined;
    }
  }

  /** Creates the directory layout; safe to call again. */
  async init(): Promise<void> {
    for (const sub of ['tmp', 'new', 'cur', 'envelopes']) await mkdir(join(this.dir, sub), { recursive: true });
  }

  /**
   * Maildir++ folder path: INBOX is the top level; "Lists/Announce" lives in
   * ".Lists.Announce". Names that could leave the spool are refused.
   */
  folderDir(folder: string): string {
    if (folder.toUpperCase() === INBOX) return this.dir;
    const parts = folder.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.') || p.endsWith('.') || /[\0\\]|\.\./.test(p))) {
      throw new Error(`invalid folder name ${JSON.stringify(folder)}`);
    }
    return join(this.dir, `.${parts.join('.')}`);
  }

  private newDirOf(folderDir: string): string {
    let dir = this.newDirs.get(folderDir);
    if (dir === undefined) {
      // Folder names come from scripts: the map is bounded, emptied when full.
      if (this.newDirs.size >= 1024) this.newDirs.clear();
      this.newDirs.set(folderDir, (dir = join(folderDir, 'new')));
    }
    return dir;
  }

  /** Writes one message durably into `folder` and returns where it is. */
  async deliver(folder: string, message: Buffer | readonly Piece[], envelope: Omit<EnvelopeSidecar, 'folder'>): Promise<SpooledMessage> {
    const target = this.folderDir(folder);
    const id = uniqueName();
    // In one buffer of its own for the thread, when it is in memory and small.
    const small = ownBytes(Buffer.isBuffer(message) ? [message] : message, SMALL_WRITE);
    const record = messageRecord(id, envelope, folder);
    this.delivering.add(id);
    try {
      return await this.write(id, folder, target, message, small, record);
    } finally {
      this.delivering.delete(id);
    }
  }

  private async write(id: string, folder: string, target: string, message: Buffer | readonly Piece[], small: Uint8Array | undefined, record: string): Promise<SpooledMessage> {
    // The directories joined once; a unique name has no '/' and is never '.' or '..', so `${dir}/${id}` is join(dir, id).
    const tmpMessage = `${this.tmpDir}/${id}`;
    const newDir = this.newDirOf(target);
    const path = `${newDir}/${id}`;
    if (small) {
      await this.writer.write({
        files: [{ tmp: tmpMessage, path, bytes: small, ...(target !== this.dir ? { folderDir: target } : {}) }],
        record: { dir: this.envelopeDir, line: record },
        journalFirst: small.length <= JOURNAL_FIRST,
      });
      return { id, folder, path };
    }
    const written: string[] = [tmpMessage, path];
    try {
      if (target !== this.dir) for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(target, sub), { recursive: true });
      // Both at once: in sequence their waits add up. Whatever happens to
      // the message, the record's append must settle before the message is
      // taken back (allSettled): a record without its message is harmless,
      // a message renamed without its record durable is not.
      const [stored, recorded] = await Promise.allSettled([
        writeDurably(tmpMessage, Buffer.isBuffer(message) ? [message] : (message as readonly Piece[])),
        this.writer.write({ record: { dir: this.envelopeDir, line: record } }),
      ]);
      if (stored.status === 'rejected') throw stored.reason;
      if (recorded.status === 'rejected') throw recorded.reason;
      await renameFd(tmpMessage, path);
      await this.dirs.sync(newDir);
      return { id, folder, path };
    } catch (e) {
      await Promise.all(written.map((p) => rm(p, { force: true }).catch(() => undefined)));
      throw e;
    }
  }

  /**
   * Takes back messages this process wrote (all-or-nothing delivery of
   * several copies). Their records stay in the journal without a message,
   * which is what a record of a message never made visible looks like.
   */
  async remove(messages: readonly SpooledMessage[]): Promise<void> {
    for (const m of messages) await removeFile(m.path);
  }

  /** The envelopes of the messages in the spool's folders (new/ and cur/), by message name. */
  async envelopes(): Promise<Map<string, StoredEnvelope>> {
    const visible = await this.visible();
    const out = new Map<string, StoredEnvelope>();
    for (const [id, line] of (await readRecords(this.envelopeDir)).records) {
      if (!visible.has(id)) continue;
      const { octets: _, ...envelope } = JSON.parse(line) as StoredEnvelope & { octets?: string };
      out.set(id, envelope);
    }
    return out;
  }

  /**
   * Start-up clean-up after a crash, before anything writes: files left in
   * tmp/ were never acknowledged; a record without its message belongs to
   * a message that was never made visible (or was since removed). The
   * journals, and the envelope files of a spool written before them, are
   * compacted into one journal.
   */
  async recover(): Promise<{ removedTmp: number; removedEnvelopes: number; restored: number; restoreFailed?: Array<{ id: string; error: string }> }> {
    await this.init();
    let removedTmp = 0;
    for (const name of await readdir(join(this.dir, 'tmp'))) {
      await rm(join(this.dir, 'tmp', name), { force: true });
      removedTmp++;
    }
    const { restored, durable, failed } = await recoverJournalFirst(this);
    // A record not written back is kept as if its message were there: the next start tries again.
    const keep = await this.visible();
    for (const f of failed ?? []) keep.add(f.id);
    const removedEnvelopes = await compactJournal(this.envelopeDir, keep, durable);
    return { removedTmp, removedEnvelopes, restored, ...(failed ? { restoreFailed: failed } : {}) };
  }

  /** The names of the messages in every folder's new/ and cur/ (without a Maildir info suffix). */
  private async visible(): Promise<Set<string>> {
    return new Set((await this.visiblePaths()).keys());
  }

  /** Where each message in a folder's new/ or cur/ is, by its name without a Maildir info suffix. */
  async visiblePaths(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const folderDir of await this.folderDirs()) {
      for (const sub of ['new', 'cur']) {
        for (const name of await readdir(join(folderDir, sub)).catch(() => [] as string[])) out.set(name.split(':')[0]!, join(folderDir, sub, name));
      }
    }
    return out;
  }

  private async folderDirs(): Promise<string[]> {
    const dirs = [this.dir];
    for (const name of await readdir(this.dir)) {
      if (name.startsWith('.') && (await stat(join(this.dir, name))).isDirectory()) dirs.push(join(this.dir, name));
    }
    return dirs;
  }
}

/** A Maildir unique name: time, a per-process sequence and randomness, and the host. */
// Looked up once: a system call per message showed in the profile.
const HOST = hostname().replace(/[/:]/g, '_');

const renameFd = promisify(renameCallback);

export function uniqueName(): string {
  const now = Date.now();
  const host = HOST;
  return `${Math.floor(now / 1000)}.M${(now % 1000) * 1000}P${process.pid}Q${++sequence}R${randomHex()}.${host}`;
}

/** Six random octets in hex, taken from a pool filled 256 names at a time: a call into the crypto library per message showed in the profile. */
let pool = Buffer.alloc(0);
let taken = 0;
function randomHex(): string {
  if (taken >= pool.length) {
    pool = randomBytes(6 * 256);
    taken = 0;
  }
  taken += 6;
  return pool.toString('hex', taken - 6, taken);
}
