/**
 * The envelope journal's appends (envelope-journal.ts), in the spool
 * writer's thread: spool-writer-thread.ts is called with this function's
 * source text and makes the appender with its own helpers. Like that
 * thread's program, it may use nothing from outside itself but Node's
 * built-in modules (process.getBuiltinModule) and what it is given.
 *
 * The envelope journal of one spool: one file open for appending at a
 * time, written only by this thread. A commit starts after the turn of the
 * thread's event loop in which its first record was appended, and writes
 * every record appended by then with one write(2) and makes them durable
 * with one fdatasync(2), made in line: the thread waits for it, and the
 * jobs handed over meanwhile wait in its port for the next commit (group
 * commit). A new file's name is made durable by its directory's fsync,
 * once, with its first commit, which goes through the thread pool.
 *
 * Records that may share a commit arrive together: the event loop holds
 * a message handed over while others are under way for a moment, and
 * hands over what gathered meanwhile at once (spool-writer.ts), so that a
 * commit carries several messages' records and the thread is woken once
 * for all of them.
 *
 * In line, a commit costs no hand-off to a pool thread and back, and a
 * journal-first message's file (spool-writer-thread.ts) is made before
 * the commit, never while it runs: made beside a sync, a file took 0.9 ms
 * at the median, 0.12 ms otherwise (docs/server.md, "Where the rest of the
 * gap goes").
 *
 * The file is written with zeros ahead of its records, ZERO_AHEAD octets
 * at a time, and records overwrite them. A commit whose records grew the
 * file changes its size and its blocks, which fdatasync(2) must make
 * durable too, with the file's inode: on ext4 with its journal (the
 * default) a commit of that journal, which carries every other change made
 * meanwhile (the message files made and renamed); without one (the
 * benchmark's machine) a write of the inode's table block, which the files
 * made meanwhile share and a checkpoint's syncfs (journal-checkpoint-thread.ts)
 * may be writing. A commit into blocks already written and synced flushes
 * only its own data, and waits much less under load (docs/server.md, "The
 * spool"; measured without ext4's journal). A reader stops at the zeros as
 * at a torn line (no line break follows them), and a journal closed past
 * its size is cut to its records.
 */

/** Where a record went: its journal file and the offset it starts at, and which of the thread's commits made it durable. */
export interface RecordAt {
  file: string;
  offset: number;
  /** Counts the thread's journal commits from 1: records with the same number shared one fdatasync(2). */
  commit: number;
}

/** What the writer thread gives the appender. */
export interface AppenderTools {
  /** A journal file that has grown past this many octets is closed, and the next record starts a new one (SpoolWriterData.journalLimit). */
  journalLimit: number;
  /** Journal files a thread of this process opened before it died (SpoolWriterData.adopt): compacted as this thread's own closed ones. */
  adopted: string[];
  writeAll(fd: number, bytes: Uint8Array, position?: number): void;
  fsyncDir(dir: string): Promise<void>;
  /** Called when a journal file is opened (SpoolOpened). */
  opened(file: string): void;
  /** Called when a journal in `dir` was closed past its size limit (SpoolRolled). */
  rolled(dir: string): void;
}

export interface JournalAppender {
  /** Which boot of the machine the journals this thread opens belong to (maildir.ts, "Journal first"); none off Linux, where there is no journal first. */
  readonly bootId: string | undefined;
  /**
   * Appends `record` to the journal in `dir`; resolves once it is durable. A tracked record counts as unwritten
   * (Journal.unwritten) until written() is called.
   */
  journal(dir: string, record: string, tracked?: boolean): Promise<RecordAt>;
  /** A tracked record's message file is written (or never will be): checkpoints may cover it. */
  written(dir: string, at: RecordAt): void;
  /** Per journal directory: the journal files this thread has closed (and the ones its compactions made), which compaction may rewrite. */
  closedIn(dir: string): Set<string>;
  /** A new journal file name of this process. */
  journalName(): string;
  /** The journal open in `dir`, and where its first unwritten record starts (for the checkpoints, journal-checkpoint-thread.ts). */
  openJournal(dir: string): { file: string; upTo: number } | undefined;
  /** Appends a line to the journal in `dir`, if `file` is still the one open there (for the checkpoints). */
  mark(dir: string, file: string, line: string): Promise<void>;
}

/** The envelope journal of one spool, as the appender keeps it. */
interface Journal {
  dir: string;
  fd: number | undefined;
  /** The open file's path. */
  file: string;
  /** Where the next record starts. */
  size: number;
  /** The file holds zeros, written and synced, up to here. */
  zeroed: number;
  named: boolean;
  committing: boolean;
  waiting: Array<{ record: string; tracked: boolean; resolve: (at: RecordAt) => void; reject: (e: unknown) => void }>;
  /** Where the journal-first records of the open file start whose message files are not written yet: a checkpoint covers only what precedes them. */
  unwritten: Set<number>;
}

export function journalAppender({ journalLimit, adopted, writeAll, fsyncDir, opened, rolled }: AppenderTools): JournalAppender {
  const fs = process.getBuiltinModule('node:fs');
  const path = process.getBuiltinModule('node:path');
  const { randomBytes } = process.getBuiltinModule('node:crypto');
  const { promisify } = process.getBuiltinModule('node:util');
  const CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
  const fdatasync = promisify(fs.fdatasync);
  const bootId = readBootId();
  /** How far ahead of its records a journal is written with zeros: about one commit in every half of this many octets of records grows the file. */
  const ZERO_AHEAD = 1 << 20;
  const ZEROES = Buffer.alloc(ZERO_AHEAD);
  let commits = 0;

  // journal-restore.ts's currentBootId, which start-up compares with this; a copy, as this program can import nothing.
  function readBootId(): string | undefined {
    try {
      return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }

  const journals = new Map<string, Journal>();

  function journalOf(dir: string): Journal {
    let j = journals.get(dir);
    if (!j) journals.set(dir, (j = { dir, fd: undefined, file: '', size: 0, zeroed: 0, named: false, committing: false, waiting: [], unwritten: new Set() }));
    return j;
  }

  function journal(dir: string, record: string, tracked = false): Promise<RecordAt> {
    const j = journalOf(dir);
    return new Promise((resolve, reject) => {
      // The first record of a batch starts its commit after this turn, so that every job handed over with it shares it,
      // and the files of journal-first jobs are made before it (spool-writer-thread.ts).
      if (j.waiting.length === 0 && !j.committing) setImmediate(() => void commit(j));
      j.waiting.push({ record, tracked, resolve, reject });
    });
  }

  function written(dir: string, at: RecordAt): void {
    const j = journalOf(dir);
    if (j.file === at.file) j.unwritten.delete(at.offset);
  }

  function closeJournal(j: Journal): void {
    if (j.fd === undefined) return;
    // The zeros ahead cut off, so that a closed journal ends with its last record, as a compacted one does; after a
    // failed commit, its records too (commit sets j.size back). A failure leaves them, which every reader passes over.
    try {
      fs.ftruncateSync(j.fd, j.size);
    } catch {
      // The zeros stay.
    }
    fs.closeSync(j.fd);
    j.fd = undefined;
    closedIn(j.dir).add(j.file);
  }

  const closed = new Map<string, Set<string>>();
  function closedIn(dir: string): Set<string> {
    let set = closed.get(dir);
    if (!set) closed.set(dir, (set = new Set(adopted.filter((f) => path.dirname(f) === dir))));
    return set;
  }

  async function commit(j: Journal): Promise<void> {
    if (j.committing || j.waiting.length === 0) return;
    j.committing = true;
    const number = ++commits;
    const batch = j.waiting;
    j.waiting = [];
    /** Where this commit's records start: a commit that fails is cut off there. */
    let start: number | undefined;
    try {
      if (j.fd === undefined) {
        // Sortable by time; unique across processes (each has its own journal) and threads.
        j.file = path.join(j.dir, journalName());
        j.fd = fs.openSync(j.file, CREATE, 0o600);
        opened(j.file);
        j.size = 0;
        j.zeroed = 0;
        j.named = false;
        j.unwritten = new Set();
        // The machine's boot, first: start-up restores unsynced messages only after a reboot (maildir.ts, "Journal first").
        if (bootId) batch.unshift({ record: `${JSON.stringify({ boot: bootId })}\n`, tracked: false, resolve: () => undefined, reject: () => undefined });
      }
      const bytes = Buffer.from(batch.length === 1 ? batch[0]!.record : batch.map((b) => b.record).join(''));
      const offsets: number[] = [];
      if (batch.some((b) => b.tracked)) {
        let at = j.size;
        for (const b of batch) {
          if (b.tracked) j.unwritten.add(at);
          offsets.push(at);
          at += Buffer.byteLength(b.record);
        }
      }
      const file = j.file;
      start = j.size;
      writeAll(j.fd, bytes, j.size);
      j.size += bytes.length;
      // Zeros ahead, written with this commit's records (so synced with them) once half of those ahead are used.
      if (j.size + ZERO_AHEAD / 2 > j.zeroed) {
        const from = Math.max(j.size, j.zeroed);
        j.zeroed = j.size + ZERO_AHEAD;
        writeAll(j.fd, ZEROES.subarray(0, j.zeroed - from), from);
      }
      if (j.named) fs.fdatasyncSync(j.fd);
      else await Promise.all([fdatasync(j.fd), fsyncDir(j.dir)]);
      j.named = true;
      batch.forEach((b, i) => b.resolve({ file, offset: offsets[i] ?? -1, commit: number }));
      if (j.size >= journalLimit) {
        closeJournal(j);
        rolled(j.dir);
      }
    } catch (e) {
      for (const b of batch) b.reject(e);
      // After a failed write or sync what the file holds is unknown (fsync(2)): later records go to a new file. This
      // commit's records were refused (their clients hear 451): cut off, or start-up after a reboot would write their
      // messages back from the octets they carry.
      if (start !== undefined) j.size = start;
      closeJournal(j);
    } finally {
      j.committing = false;
      // Records that arrived during this commit waited for it to end: theirs starts now.
      if (j.waiting.length) void commit(j);
    }
  }

  /** Sortable by time; unique across processes (each has its own journal) and threads; a running process's are left alone by another's start-up. */
  function journalName(): string {
    return `${Date.now()}.P${process.pid}.R${randomBytes(6).toString('hex')}.journal`;
  }

  return {
    bootId,
    journal,
    written,
    closedIn,
    journalName,
    openJournal(dir) {
      const j = journals.get(dir);
      return j?.fd !== undefined ? { file: j.file, upTo: j.unwritten.size ? Math.min(...j.unwritten) : j.size } : undefined;
    },
    async mark(dir, file, line) {
      const j = journals.get(dir);
      if (j?.fd !== undefined && j.file === file) await journal(dir, line);
    },
  };
}
