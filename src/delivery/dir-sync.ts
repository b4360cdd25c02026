/**
 * Directory fsyncs shared by concurrent writers (group commit). A rename,
 * or a new file's name, is durable once its directory has been fsynced
 * (fsync(2)); one fsync covers every name made before it started, so
 * writers that made theirs while one was running wait for the next one,
 * which all of them share. Under load this turns one directory fsync per
 * message into one per batch.
 */
import { close, constants, fsync, open } from 'node:fs';
import { promisify } from 'node:util';

export class DirSync {
  private running = new Map<string, Promise<void>>();
  private queued = new Map<string, Promise<void>>();

  constructor(
    /** Counts every fsync made (the benchmarks' fsyncs per message). */
    readonly counter: { fsyncs: number } = { fsyncs: 0 },
  ) {}

  /** Resolves once every rename made in `dir` before this call is durable. */
  sync(dir: string): Promise<void> {
    const current = this.running.get(dir);
    if (!current) {
      this.counter.fsyncs++;
      const p = syncDir(dir).finally(() => this.running.delete(dir));
      this.running.set(dir, p);
      return p;
    }
    // The sync in progress may have started before our rename: wait for the next one.
    let next = this.queued.get(dir);
    if (!next) {
      next = current
        .catch(() => undefined)
        .then(() => {
          this.queued.delete(dir);
          return this.sync(dir);
        });
      this.queued.set(dir, next);
    }
    return next;
  }
}

// Plain descriptors and callback calls: cheaper per call for the event
// loop than FileHandle (see writeDurably in maildir.ts).
const openFd = promisify(open) as (path: string, flags: number) => Promise<number>;
const fsyncFd = promisify(fsync);
const closeFd = promisify(close);

/** fsync(2) of a directory: the names made in it are durable once it returns. */
export async function syncDir(dir: string): Promise<void> {
  const fd = await openFd(dir, constants.O_RDONLY);
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}
