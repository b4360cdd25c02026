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
 * sources of the journal's compactor and checkpoints, which it is called
 * with.
 */
import type { journalCheckpoints } from './journal-checkpoint-thread.js';
import type { journalCompactor } from './journal-compaction-thread.js';
import type { SpoolCheckpointFailed, SpoolJob, SpoolOpened, SpoolReply, SpoolRolled, SpoolWriterData } from './spool-writer-protocol.js';

export function spoolWriterThread(makeCompactor: typeof journalCompactor, makeCheckpoints: typeof journalCheckpoints): void {
  const fs = process.getBuiltinModule('node:fs');
  const path = process.getBuiltinModule('node:path');
  const { randomBytes } = process.getBuiltinModule('node:crypto');
  const { promisify } = process.getBuiltinModule('node:util');
  const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
  const { journalLimit, crashAt, adopt, syncCommand } = workerData as SpoolWriterData;
  const CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
  const port = parentPort!;
  const fdatasync = promisify(fs.fdatasync);
  const fsync = promisify(fs.fsync);
  const mkdir = promisify(fs.mkdir);
  /** Which boot of the machine the journals this thread opens belong to (maildir.ts, "Journal first"); none off Linux, where there is no journal first. */
  const bootId = readBootId();

  // journal-restore.ts's currentBootId, which start-up compares with this; a copy, as this program can import nothing.
  function readBootId(): string | undefined {
    try {
      return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * `run(key)` shared by concurrent callers (group commit): a call made
   * while one runs for the same key waits for the next one, which every
   * call made meanwhile shares (what ran may have started before the
   * caller's change). `onStart` is called when a call starts a run.
   */
  function shared(run: (key: string) => Promise<void>): (key: string, onStart?: () => void) => Promise<void> {
    const running = new Map<string, Promise<void>>();
    const queued = new Map<string, Promise<void>>();
    const call = (key: string, onStart?: () => void): Promise<void> => {
      const current = running.get(key);
      if (!current) {
        onStart?.();
        const p = run(key).finally(() => running.delete(key));
        running.set(key, p);
        return p;
      }
      let next = queued.get(key);
      if (!next) {
        next = current
          .catch(() => undefined)
          .then(() => {
            queued.delete(key);
            return call(key, onStart);
          });
        queued.set(key, next);
      }
      return next;
    };
    return call;
  }

  /** Resolves once every name made in `dir` before this call is durable (fsync(2) on the directory). */
  // Started after this turn of the event loop: the names other messages make in it share it.
  const syncDir = shared((dir) => new Promise<void>((resolve) => setImmediate(resolve)).then(() => fsyncDir(dir)));

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
    waiting: Array<{ record: string; tracked: boolean; resolve: (at: RecordAt) => void; reject: (e: unknown) => void }>;
    /** Where the journal-first records of the open file start whose message files are not written yet: a checkpoint covers only what precedes them. */
    unwritten: Set<number>;
  }
  /** Where a record went: its journal file and the offset it starts at. */
  interface RecordAt {
    file: string;
    offset: number;
  }
  const journals = new Map<string, Journal>();

  function journalOf(dir: string): Journal {
    let j = journals.get(dir);
    if (!j) journals.set(dir, (j = { dir, fd: undefined, file: '', size: 0, named: false, committing: false, waiting: [], unwritten: new Set() }));
    return j;
  }

  /** Appends `record` to the journal in `dir`; resolves once it is durable. A tracked record counts as unwritten (Journal.unwritten) until written() is called. */
  function journal(dir: string, record: string, tracked = false): Promise<RecordAt> {
    const j = journalOf(dir);
    return new Promise((resolve, reject) => {
      // The first record of a batch starts its commit after this turn, so that every job handed over with it shares it.
      if (j.waiting.length === 0 && !j.committing) setImmediate(() => void commit(j));
      j.waiting.push({ record, tracked, resolve, reject });
    });
  }

  /** A tracked record's message file is written (or never will be): checkpoints may cover it. */
  function written(dir: string, at: RecordAt): void {
    const j = journalOf(dir);
    if (j.file === at.file) j.unwritten.delete(at.offset);
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
      writeAll(j.fd, bytes);
      j.size += bytes.length;
      await Promise.all([fdatasync(j.fd), j.named ? undefined : fsyncDir(j.dir)]);
      j.named = true;
      batch.forEach((b, i) => b.resolve({ file, offset: offsets[i] ?? -1 }));
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

  /** Checkpoints of the journal-first spool, in this thread (journal-checkpoint-thread.ts). */
  const checkpoints = makeCheckpoints({
    openJournal(dir) {
      const j = journals.get(dir);
      return j?.fd !== undefined ? { file: j.file, upTo: j.unwritten.size ? Math.min(...j.unwritten) : j.size } : undefined;
    },
    async mark(dir, file, line) {
      const j = journals.get(dir);
      if (j?.fd !== undefined && j.file === file) await journal(dir, line);
    },
    shared,
    syncCommand,
    failed: (message) => port.postMessage({ checkpointFailed: message } satisfies SpoolCheckpointFailed),
  });

  /** The record with the message's octets (base64 in JSON), for start-up to restore the file from after a reboot. */
  function withOctets(line: string, bytes: Uint8Array): string {
    // journalRecord's line ends with `}` and a line break.
    return `${line.slice(0, -2)},"octets":"${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64')}"}\n`;
  }

  /** Compaction while running, in this thread (journal-compaction-thread.ts). */
  // A worker's own pid may be a dead one's again: its journals are then its own.
  const deadPids = (adopt?.pids ?? []).filter((pid) => pid !== process.pid);
  const compact = makeCompactor({ closedIn, deadPids, journalName, writeAll, fsyncDir, checkpoint: checkpoints.now, crashAt });

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
      if (job.journalFirst && bootId && checkpoints.working && job.record && files.length === 1) {
        // The record with the octets first; then the file, not synced, visible at once (maildir.ts, "Journal first").
        const f = files[0]!;
        const dir = job.record.dir;
        const recorded = journal(dir, withOctets(job.record.line, f.bytes), true);
        let at: RecordAt | undefined;
        try {
          // The file is made in tmp/ while the record's commit runs (the message handler below starts it once every job
          // of the batch has queued its record): creating a file is the dearest call here, and tmp/ is emptied at start-up.
          await undefined;
          const fd = fs.openSync(f.tmp, CREATE, 0o600);
          made.push(f.tmp);
          try {
            writeAll(fd, f.bytes);
          } finally {
            fs.closeSync(fd);
          }
          at = await recorded;
          fs.renameSync(f.tmp, f.path);
          made.push(f.path);
        } finally {
          // Only once its file is in place (or never will be: the client hears 451) may a checkpoint cover the record.
          if (at) written(dir, at);
          else recorded.then((a) => written(dir, a), () => undefined);
        }
        checkpoints.soon(dir);
        reply({ seq: job.seq, dirSyncs: 0 });
        return;
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
      await Promise.all([...new Set(files.map((f) => path.dirname(f.path)))].map((dir) => syncDir(dir, () => started.n++)));
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
      if (job.checkpoint !== undefined) {
        checkpoints.now(job.checkpoint).then(
          () => reply({ seq: job.seq, dirSyncs: 0 }),
          (e: unknown) => reply({ seq: job.seq, error: { message: (e as Error).message }, dirSyncs: 0 }),
        );
        continue;
      }
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
    // Every job of the batch has queued its record: their commit starts now, and journal-first files are made while it runs.
    for (const j of journals.values()) if (!j.committing && j.waiting.length) void commit(j);
  });
}
