/**
 * The spool writer's thread: writes a small message and its envelope into
 * the Maildir, durably, as one job (spool-writer.ts sends the jobs; the
 * order of writes is maildir.ts's). It exists because on the event loop
 * each file-system call is a thread-pool hand-off and a promise, about ten
 * per message, and under load those hand-offs were a fifth of the main
 * thread's time per accepted message (docs/server.md, "The spool").
 *
 * Calls that return at once (open, write, close, rename, mkdir) are made
 * synchronously here; calls that wait for the disk (fdatasync, fsync) go to
 * the thread pool, so that the waits of concurrent messages overlap and the
 * file system commits them together. Directory fsyncs are shared by every
 * message whose name was made before one started (group commit).
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
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  const CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
  const port = parentPort!;

  type Done = (e: Error | null) => void;
  /** Per directory: whether an fsync is running, and who waits for the next one. */
  const dirs = new Map<string, { running: boolean; waiting: Done[] }>();

  /** Calls `done` once every name made in `dir` before this call is durable (fsync(2) on the directory). */
  function syncDir(dir: string, done: Done): void {
    let d = dirs.get(dir);
    if (!d) dirs.set(dir, (d = { running: false, waiting: [] }));
    d.waiting.push(done);
    if (!d.running) startSync(dir, d);
  }

  function startSync(dir: string, d: { running: boolean; waiting: Done[] }): void {
    const waiters = d.waiting;
    d.waiting = [];
    let fd: number;
    try {
      fd = fs.openSync(dir, fs.constants.O_RDONLY);
    } catch (e) {
      for (const w of waiters) w(e as Error);
      return;
    }
    d.running = true;
    fs.fsync(fd, (e) => {
      fs.closeSync(fd);
      d.running = false;
      for (const w of waiters) w(e);
      if (d.waiting.length) startSync(dir, d);
    });
  }

  /** write(2) may write less than asked: the rest follows. */
  function writeAll(fd: number, bytes: Uint8Array): void {
    for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off, bytes.length - off);
  }

  function createWith(file: string, bytes: Uint8Array, made: string[]): number {
    const fd = fs.openSync(file, CREATE, 0o600);
    made.push(file);
    try {
      writeAll(fd, bytes);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return fd;
  }

  /** Answers of this turn of the event loop, sent together (a group commit finishes many messages at once). */
  let replies: SpoolReply[] = [];
  const sendReplies = () => {
    port.postMessage(replies);
    replies = [];
  };

  function reply(job: SpoolJob, made: readonly string[], e: Error | null): void {
    if (replies.length === 0) setImmediate(sendReplies);
    if (!e) return void replies.push({ seq: job.seq });
    for (const f of made) fs.rmSync(f, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    replies.push({ seq: job.seq, error: { message: e.message, ...(code ? { code } : {}) } });
  }

  function write(job: SpoolJob): void {
    const made: string[] = [];
    const fds: number[] = [];
    try {
      if (job.folderDir) for (const sub of ['tmp', 'new', 'cur']) fs.mkdirSync(path.join(job.folderDir, sub), { recursive: true });
      fds.push(createWith(job.envelopePath, Buffer.from(job.envelope), made));
      fds.push(createWith(job.tmp, job.message, made));
    } catch (e) {
      for (const fd of fds) fs.closeSync(fd);
      return reply(job, made, e as Error);
    }
    const [envelopeFd, messageFd] = fds as [number, number];
    // The two files' waits side by side; the envelope's name is made durable
    // as soon as its content is, and the message becomes visible (the
    // rename) only once both are whole and named on disk.
    let left = 2;
    let failed: Error | null = null;
    const step = (e: Error | null) => {
      failed ??= e;
      if (--left > 0) return;
      if (failed) return reply(job, made, failed);
      try {
        fs.renameSync(job.tmp, job.path);
        made.push(job.path);
      } catch (e) {
        return reply(job, made, e as Error);
      }
      syncDir(path.dirname(job.path), (e) => reply(job, made, e));
    };
    fs.fdatasync(envelopeFd, (e) => {
      fs.closeSync(envelopeFd);
      if (e) step(e);
      else syncDir(path.dirname(job.envelopePath), step);
    });
    fs.fdatasync(messageFd, (e) => {
      fs.closeSync(messageFd);
      step(e);
    });
  }

  port.on('message', (jobs: SpoolJob[]) => {
    for (const job of jobs) write(job);
  });
}
