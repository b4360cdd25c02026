/**
 * The spool writer's thread: writes a small message and its envelope into
 * the Maildir, durably, as one job (spool-writer.ts sends the jobs; the
 * order of writes is maildir.ts's). It exists because on the event loop
 * each file-system call is a thread-pool hand-off and a promise, about ten
 * per message, and under load those hand-offs were a fifth of the main
 * thread's time per accepted message (docs/server.md, "The spool").
 *
 * The thread makes the same calls the event loop made, through the thread
 * pool, so that concurrent messages' calls run side by side and their
 * fdatasyncs are committed together by the file system. Synchronous calls
 * here were tried and lost: one thread then made every message's calls in
 * turn, and on this project's test machine creating a file in the spool
 * took 0.3-0.8 ms of system time while others fsync, so the one thread
 * became the limit. Directory fsyncs are shared by every message whose
 * name was made before one started (group commit, as in dir-sync.ts).
 *
 * This function's source text is the thread's whole program (run with
 * `eval`, so that it works the same from tsc's output, the bundled CLI and
 * the tests): it may use nothing from outside itself but Node's built-in
 * modules, through process.getBuiltinModule.
 */

/** One message for the thread: its bytes (transferred, not copied) and where they go. */
export interface SpoolJob {
  seq: number;
  /** The message as stored, our Received: header included. */
  message: Uint8Array;
  /** The envelope sidecar's text. */
  envelope: string;
  /** Where the message is written (the spool's tmp/). */
  tmp: string;
  /** Where it is renamed to (a folder's new/). */
  path: string;
  /** The envelope sidecar (in envelopes/, created there). */
  envelopePath: string;
  /** A Maildir++ folder whose tmp/, new/ and cur/ may need creating. */
  folderDir?: string;
}

/** The thread's answer: the message is durable in new/ (no error), or nothing of it is left. */
export interface SpoolReply {
  seq: number;
  error?: { message: string; code?: string };
}

export function spoolWriterThread(): void {
  const fs = process.getBuiltinModule('node:fs');
  const path = process.getBuiltinModule('node:path');
  const { promisify } = process.getBuiltinModule('node:util');
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  const CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
  const port = parentPort!;
  const open = promisify(fs.open) as (file: string, flags: number, mode?: number) => Promise<number>;
  const writeFd = promisify(fs.write) as (fd: number, b: Uint8Array, off: number, len: number) => Promise<{ bytesWritten: number }>;
  const fdatasync = promisify(fs.fdatasync);
  const fsync = promisify(fs.fsync);
  const rename = promisify(fs.rename);
  const mkdir = promisify(fs.mkdir);

  /** Per directory: the fsync running, and the one after it, which every name made meanwhile waits for. */
  const running = new Map<string, Promise<void>>();
  const queued = new Map<string, Promise<void>>();

  /** Resolves once every name made in `dir` before this call is durable (fsync(2) on the directory). */
  function syncDir(dir: string): Promise<void> {
    const current = running.get(dir);
    if (!current) {
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
          return syncDir(dir);
        });
      queued.set(dir, next);
    }
    return next;
  }

  async function fsyncDir(dir: string): Promise<void> {
    const fd = await open(dir, fs.constants.O_RDONLY);
    try {
      await fsync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Creates `file` (never over an existing name) with `bytes`, and makes its content durable (fdatasync, as maildir.ts explains). */
  async function createDurably(file: string, bytes: Uint8Array, made: string[]): Promise<void> {
    const fd = await open(file, CREATE, 0o600);
    made.push(file);
    try {
      // write(2) may write less than asked: the rest follows.
      for (let off = 0; off < bytes.length; ) off += (await writeFd(fd, bytes, off, bytes.length - off)).bytesWritten;
      await fdatasync(fd);
    } finally {
      // In line: after fdatasync there is nothing left to write back.
      fs.closeSync(fd);
    }
  }

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

  async function write(job: SpoolJob): Promise<void> {
    const made: string[] = [];
    try {
      if (job.folderDir) for (const sub of ['tmp', 'new', 'cur']) await mkdir(path.join(job.folderDir, sub), { recursive: true });
      // The two files side by side; the envelope's name is made durable as
      // soon as its content is, and the message becomes visible (the
      // rename) only once both are whole and named on disk.
      const envelope = createDurably(job.envelopePath, Buffer.from(job.envelope), made).then(() => syncDir(path.dirname(job.envelopePath)));
      const [message, named] = await Promise.allSettled([createDurably(job.tmp, job.message, made), envelope]);
      if (message.status === 'rejected') throw message.reason;
      if (named.status === 'rejected') throw named.reason;
      await rename(job.tmp, job.path);
      made.push(job.path);
      await syncDir(path.dirname(job.path));
      reply({ seq: job.seq });
    } catch (e) {
      for (const f of made) fs.rmSync(f, { force: true });
      const code = (e as NodeJS.ErrnoException).code;
      reply({ seq: job.seq, error: { message: (e as Error).message, ...(code ? { code } : {}) } });
    }
  }

  port.on('message', (jobs: SpoolJob[]) => {
    for (const job of jobs) void write(job);
  });
}
