/**
 * The durable file writes of the spool writer's thread
 * (spool-writer-thread.ts is called with this function's source text):
 * files created and made durable with fdatasync, and directory fsyncs
 * shared by every name made in the directory before one started (group
 * commit, as in dir-sync.ts). Like that thread's program, it may use
 * nothing from outside itself but Node's built-in modules
 * (process.getBuiltinModule).
 *
 * The fdatasync and fsync calls go through the thread pool, and the calls
 * that only change the page cache are made in line, as
 * spool-writer-thread.ts explains (docs/server.md, "The spool").
 */

export interface DurableWrites {
  /**
   * `run(key)` shared by concurrent callers (group commit): a call made
   * while one runs for the same key waits for the next one, which every
   * call made meanwhile shares (what ran may have started before the
   * caller's change). `onStart` is called when a call starts a run.
   */
  shared(run: (key: string) => Promise<void>): (key: string, onStart?: () => void) => Promise<void>;
  /** Resolves once every name made in `dir` before this call is durable (fsync(2) on the directory); `onStart` is called when the call starts an fsync. */
  syncDir(dir: string, onStart?: () => void): Promise<void>;
  /** One fsync(2) of `dir`, not shared. */
  fsyncDir(dir: string): Promise<void>;
  /** Writes all of `bytes` to `fd`, in line: at `position` when one is given, else at the file's offset. */
  writeAll(fd: number, bytes: Uint8Array, position?: number): void;
  /** Creates `file` (never over an existing name) with `bytes`, and makes its content durable (fdatasync, as maildir.ts explains); `made` gets its name once it exists. */
  createDurably(file: string, bytes: Uint8Array, made: string[]): Promise<void>;
}

export function durableWrites(): DurableWrites {
  const fs = process.getBuiltinModule('node:fs');
  const { promisify } = process.getBuiltinModule('node:util');
  const CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
  const fdatasync = promisify(fs.fdatasync);
  const fsync = promisify(fs.fsync);

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

  function writeAll(fd: number, bytes: Uint8Array, position?: number): void {
    // write(2) may write less than asked: the rest follows.
    for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off, bytes.length - off, position === undefined ? null : position + off);
  }

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

  return { shared, syncDir, fsyncDir, writeAll, createDurably };
}
