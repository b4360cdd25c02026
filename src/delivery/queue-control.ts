/**
 * How a running queue learns of operator commands (queue-commands.ts): a
 * file dropped in `<queue_dir>/control/` names the entry to look at again
 * (`all` for every entry). inotify (fs.watch) wakes it at once; a poll every
 * two seconds covers file systems without it. Each file is removed once read.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

const POLL_MS = 2000;

export class ControlWatcher {
  private watcher?: FSWatcher;
  private poll?: NodeJS.Timeout;
  private scanning: Promise<void> | null = null;

  constructor(
    private readonly dir: string,
    /** Called with the entry ids named since the last scan ('all' among them for every entry). */
    private readonly onIds: (ids: Set<string>) => Promise<void>,
  ) {}

  start(): void {
    const scan = () => {
      this.scanning ??= this.scan().finally(() => (this.scanning = null));
    };
    try {
      this.watcher = watch(this.dir, { persistent: false }, scan);
      this.watcher.on('error', () => undefined);
    } catch {
      // No inotify: the poll still finds the commands.
    }
    this.poll = setInterval(scan, POLL_MS);
    this.poll.unref();
    scan();
  }

  stop(): void {
    this.watcher?.close();
    if (this.poll) clearInterval(this.poll);
  }

  private async scan(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const ids = new Set<string>();
    for (const n of names) {
      await rm(join(this.dir, n), { force: true });
      ids.add(n.split('.')[0]!);
    }
    if (ids.size) await this.onIds(ids);
  }
}
