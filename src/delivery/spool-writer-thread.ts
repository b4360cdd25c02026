/**
 * The spool writer's thread: writes a small message into the Maildir and
 * appends its envelope to the envelope journal, durably, as one job
 * (spool-writer.ts sends the jobs; the order of writes is maildir.ts's),
 * and writes the delivery queue's new entries the same way (queue-file.ts). It
 * exists because on the event loop each file-system call is a thread-pool
 * hand-off and a promise, about ten per message, and under load those
 * hand-offs were a fifth of the main thread's time per accepted message
 * (docs/server.md, "The spool"). A large message is written from the event
 * loop, and only its envelope record comes here: the journal has one writer.
 *
 * The thread makes its fdatasync and fsync calls through the thread pool,
 * so that concurrent messages' syncs run side by side and are committed
 * together by the file system; the calls that only change the page cache
 * (open, write, rename, close) it makes in line. Each call through the pool
 * is a hand-off to a pool thread and back and a promise, and in line those
 * four cost the spool about a sixth less CPU per message (docs/server.md,
 * "The spool"). Making every call in line was tried and lost: one
 * thread then made every message's syncs in turn, and became the limit.
 * Directory fsyncs are shared by every message whose name was made before
 * one started, and journal fdatasyncs by every record appended before one
 * started (group commit, as in dir-sync.ts).
 *
 * This function's source text is the thread's whole program (run with
 * `eval`, so that it works the same from tsc's output, the bundled CLI and
 * the tests): it may use nothing from outside itself but Node's built-in
 * modules, through process.getBuiltinModule, its workerData, and the
 * journal compactor's source, which it is called with.
 */
import type { CompactRequest, CompactResult, journalCompactor } from './journal-compaction-thread.js';


/** A file made durable under a temporary name, then renamed into place. */
export interface SpoolFile {
  /** Where it is written first (the spool's tmp/, or `<id>.tmp` beside a queue entry). */
  tmp: string;
  /** Where it is renamed to once durable (a folder's new/, the queue's entries/). */
  path: string;
  /** Its content (transferred, not copied): for a message, our Received: header included. */
  bytes: Uint8Array;
  /** A Maildir++ folder whose tmp/, new/ and cur/ may need creating. */
  folderDir?: string;
}

/**
 * One job for the thread: files, all or none, and an envelope record that
 * is durable before any of them is renamed; or a record alone (a large
 * message the event loop writes itself).
 */
export interface SpoolJob {
  seq: number;
  files?: SpoolFile[];
  /** An envelope record (one line of JSON, line break included, envelope-journal.ts) for the journal in `dir` (the spool's envelopes/). */
  record?: { dir: string; line: string };
  /** Instead: compact the journals this thread has closed in `dir` (envelope-journal.ts, "While running"). */
  compact?: CompactRequest;
}

/** The thread's answer: the files are durable in place and the record in the journal (no error), or none of the files is left. */
export interface SpoolReply {
  seq: number;
  error?: { message: string; code?: string };
  /** Directory fsyncs this job started (others waited on them too): for the benchmarks' count of fsyncs. */
  dirSyncs: number;
  compacted?: CompactResult;
}

/** Sent by the thread, apart from the replies, when it closed a journal in `rolled` past its size limit: time to compact. */
export interface SpoolRolled {
  rolled: string;
}

/** What the thread is started with. */
export interface SpoolWriterData {
  /** A journal file that has grown past this many octets is closed, and the next record starts a new one. */
  journalLimit: number;
  /** Tests only (test/delivery/crash-compaction.test.ts): the process kills itself at this step of a compaction. */
  crashAt?: 'written' | 'renamed' | 'removed';
  /**
   * Journals whose writer is gone, for this thread to compact as its own
   * closed ones: `files` a thread of this process opened before it died
   * (spool-writer.ts), `pids` cluster workers that died (every journal
   * named with their pid; docs/operations.md, "Workers").
   */
  adopt?: { files: string[]; pids: number[] };
}

/** Sent by the thread when it opens a journal file: the process knows what a thread that dies leaves behind. */
export interface SpoolOpened {
  opened: string;
}

export function spoolWriterThread(makeCompactor: typeof journalCompactor): void {
  const fs = process.getBuiltinModule('node:fs');
  const path = process.getBuiltinModule('node:path');
  const { randomBytes } = process.getBuiltinModule('node:crypto');
  const { promisify } = process.getBuiltinModule('node:util');
  const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
  const { journalLimit, crashAt, adopt } = workerData as SpoolWriterData;
  const CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
  const port = parentPort!;
  const fdatasync = promisify(fs.fdatasync);
  const fsync = promisify(fs.fsync);
  const mkdir = promisify(fs.mkdir);

  /** Per directory: the fsync running, and the one after it, which every name made meanwhile waits for. */
  const running = new Map<string, Promise<void>>();
  const queued = new Map<string, Promise<void>>();

  /**
   * Resolves once every name made in `dir` before this call is durable
   * (fsync(2) on the directory). `started.n` counts the fsyncs this call
   * began, for the caller's count.
   */
  function syncDir(dir: string, started: { n: number }): Promise<void> {
    const current = running.get(dir);
    if (!current) {
      started.n++;
      // Started after this turn of the event loop: the names other messages make in it share it.
      const p = new Promise<void>((resolve) => setImmediate(resolve)).then(() => fsyncDir(dir)).finally(() => running.delete(dir));
      running.set(dir, p);
      return p;
    }
    let next = queued.get(dir);
    if (!next) {
      next = current
        .catch(() => undefined)
        .then(() => {
          queued.delete(dir);
          return syncDir(dir, started);
        });
      queued.set(dir, next);
    }
    return next;
  }

  async function fsyncDir(dir: string): Promise<void> {
    const fd = fs.openSync(dir, fs.constants.O_RDONLY);
    try {
      await fsync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  function writeAll(fd: number, bytes: Uint8Array): void {
    // write(2) may write less than asked: the rest follows.
    for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off, bytes.length - off);
  }

  /** Creates `file` (never over an existing name) with `bytes`, and makes its content durable (fdatasync, as maildir.ts explains). */
  async function createDurably(file: string, bytes: Uint8Array, made: string[]): Promise<void> {
    const fd = fs.openSync(file, CREATE, 0o600);
    made.push(file);
    try {
      writeAll(fd, bytes);
      await fdatasync(fd);
    } finally {
      // In line: after fdatasync there is nothing left to write back.
      fs.closeSync(fd);
    }
  }

  /**
   * The envelope journal of one spool (envelope-journal.ts): one file open
   * for appending at a time, written only by this thread. Records appended
   * while a commit runs wait for the next one, which writes them all with
   * one write(2) and makes them durable with one fdatasync(2) (the file's
   * size is among what it flushes: the records appended are data a read
   * needs). A new file's name is made durable by its directory's fsync,
   * once, with its first commit.
   */
  interface Journal {
    dir: string;
    fd: number | undefined;
    /** The open file's path. */
    file: string;
    size: number;
    named: boolean;
    committing: boolean;
    waiting: Array<{ record: string; resolve: () => void; reject: (e: unknown) => void }>;
  }
  const journals = new Map<string, Journal>();

  function journal(dir: string, record: string): Promise<void> {
    let j = journals.get(dir);
    if (!j) journals.set(dir, (j = { dir, fd: undefined, file: '', size: 0, named: false, committing: false, waiting: [] }));
    const jj = j;
    return new Promise((resolve, reject) => {
      // The first record of a batch starts its commit after this turn, so that every job handed over with it shares it.
      if (jj.waiting.length === 0 && !jj.committing) setImmediate(() => void commit(jj));
      jj.waiting.push({ record, resolve, reject });
    });
  }

  function closeJournal(j: Journal): void {
    if (j.fd === undefined) return;
    fs.closeSync(j.fd);
    j.fd = undefined;
    closedIn(j.dir).add(j.file);
  }

  /** Per journal directory: the journal files this thread has closed (and the ones its compactions made), which compaction may rewrite. */
  const closed = new Map<string, Set<string>>();
  function closedIn(dir: string): Set<string> {
    let set = closed.get(dir);
    if (!set) closed.set(dir, (set = new Set((adopt?.files ?? []).filter((f) => path.dirname(f) === dir))));
    return set;
  }

  async function commit(j: Journal): Promise<void> {
    if (j.committing || j.waiting.length === 0) return;
    j.committing = true;
    const batch = j.waiting;
    j.waiting = [];
    try {
      if (j.fd === undefined) {
        // Sortable by time; unique across processes (each has its own journal) and threads.
        j.file = path.join(j.dir, journalName());
        j.fd = fs.openSync(j.file, CREATE | fs.constants.O_APPEND, 0o600);
        port.postMessage({ opened: j.file } satisfies SpoolOpened);
        j.size = 0;
        j.named = false;
      }
      const bytes = Buffer.from(batch.length === 1 ? batch[0]!.record : batch.map((b) => b.record).join(''));
      writeAll(j.fd, bytes);
      j.size += bytes.length;
      await Promise.all([fdatasync(j.fd), j.named ? undefined : fsyncDir(j.dir)]);
      j.named = true;
      for (const b of batch) b.resolve();
      if (j.size >= journalLimit) {
        closeJournal(j);
        port.postMessage({ rolled: j.dir } satisfies SpoolRolled);
      }
    } catch (e) {
      for (const b of batch) b.reject(e);
      // After a failed write or sync what the file holds is unknown (fsync(2)): later records go to a new file.
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

  /** Compaction while running, in this thread (journal-compaction-thread.ts). */
  // A worker's own pid may be a dead one's again: its journals are then its own.
  const deadPids = (adopt?.pids ?? []).filter((pid) => pid !== process.pid);
  const compact = makeCompactor({ closedIn, deadPids, journalName, writeAll, fsyncDir, crashAt });

  /** Answers of this turn of the event loop, sent together (a group commit finishes many messages at once). */
  let replies: SpoolReply[] = [];
  const sendReplies = () => {
    port.postMessage(replies);
    replies = [];
  };
  const reply = (r: SpoolReply) => {
    if (replies.length === 0) setImmediate(sendReplies);
    replies.push(r);
  };

  /** Folders whose tmp/, new/ and cur/ this thread has made or found: three mkdir calls per message filed there otherwise. */
  const folders = new Set<string>();

  async function write(job: SpoolJob): Promise<void> {
    const made: string[] = [];
    const started = { n: 0 };
    const files = job.files ?? [];
    try {
      for (const f of files) {
        if (!f.folderDir || folders.has(f.folderDir)) continue;
        for (const sub of ['tmp', 'new', 'cur']) await mkdir(path.join(f.folderDir, sub), { recursive: true });
        folders.add(f.folderDir);
      }
      // The files and the record side by side; a file becomes visible (the
      // rename) only once every file and the record are durable. Every
      // write settles before a failure is answered: what it made is removed.
      const done = await Promise.allSettled([...files.map((f) => createDurably(f.tmp, f.bytes, made)), ...(job.record ? [journal(job.record.dir, job.record.line)] : [])]);
      for (const d of done) if (d.status === 'rejected') throw d.reason;
      for (const f of files) {
        fs.renameSync(f.tmp, f.path);
        made.push(f.path);
      }
      await Promise.all([...new Set(files.map((f) => path.dirname(f.path)))].map((dir) => syncDir(dir, started)));
      reply({ seq: job.seq, dirSyncs: started.n });
    } catch (e) {
      // A failed folder write may mean the folder was removed: look again next time.
      for (const f of files) if (f.folderDir) folders.delete(f.folderDir);
      for (const f of made) fs.rmSync(f, { force: true });
      const code = (e as NodeJS.ErrnoException).code;
      reply({ seq: job.seq, error: { message: (e as Error).message, ...(code ? { code } : {}) }, dirSyncs: started.n });
    }
  }

  port.on('message', (jobs: SpoolJob[]) => {
    for (const job of jobs) {
      if (!job.compact) {
        void write(job);
        continue;
      }
      // compact() takes its list of journals before its first wait, in this turn: after every job sent before it, before any sent after.
      compact(job.compact).then(
        (compacted) => reply({ seq: job.seq, dirSyncs: 0, compacted }),
        (e: unknown) => reply({ seq: job.seq, error: { message: (e as Error).message }, dirSyncs: 0 }),
      );
    }
  });
}
