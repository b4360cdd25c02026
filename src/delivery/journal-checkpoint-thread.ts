/**
 * Checkpoints of the journal-first spool (maildir.ts, "Journal first"), in
 * the spool writer's thread: spool-writer-thread.ts is called with this
 * function's source text and makes the checkpoints with its own helpers.
 * Like that thread's program, it may use nothing from outside itself but
 * Node's built-in modules (process.getBuiltinModule) and what it is given.
 *
 * The message files written without syncs become durable together, with
 * one syncfs(2) of the spool's file system (coreutils' `sync -f`: Node has
 * no call for it), instead of an fdatasync per file and fsyncs of their
 * directories. Then a mark in the journal says which of its records' files
 * are durable: those starting before `checkpoint`, an offset taken before
 * the sync began, in the file named in the mark (a mark appended after the
 * journal rolled lands in another file, and counts for nothing there).
 *
 * Every checkpoint's `sync -f` is run by one long-lived shell, forked the
 * first time and fed a directory a line: a spawn per checkpoint forked
 * this whole process once a second, and after each fork every page the
 * event loop wrote took a copy-on-write fault (and, with threads on other
 * CPUs, a TLB shoot-down) until the child had exec'd. docs/server.md,
 * "The spool", has the measurements.
 */

/** What the writer thread gives the checkpoints. */
export interface CheckpointTools {
  /** The journal open in `dir`, and where its first record whose message file is not written yet starts (its size when there is none). */
  openJournal(dir: string): { file: string; upTo: number } | undefined;
  /** Appends a line to the journal in `dir`, if `file` is still the one open there; resolves once it is durable. */
  mark(dir: string, file: string, line: string): Promise<void>;
  /** Calls shared by concurrent callers (group commit, durable-writes-thread.ts). */
  shared(run: (key: string) => Promise<void>): (key: string) => Promise<void>;
  /** Tests only (SpoolWriterData.syncCommand). */
  syncCommand: string | undefined;
  /** Called once, when checkpoints stop working. */
  failed(message: string): void;
}

export interface Checkpoints {
  /** Every message file written so far in the spool of the journal in `dir` is durable once this resolves; a checkpoint asked for while one runs waits for the next one. */
  now(dir: string): Promise<void>;
  /** A checkpoint within a second: the time a message's octets stay in the journal alone. */
  soon(dir: string): void;
  /** False once a checkpoint failed: later messages are written the durable way (the records written so far keep their octets). */
  readonly working: boolean;
}

export function journalCheckpoints({ openJournal, mark, shared, syncCommand, failed }: CheckpointTools): Checkpoints {
  const path = process.getBuiltinModule('node:path');
  const { spawn } = process.getBuiltinModule('node:child_process');
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  let working = true;

  const now = shared(async (dir: string) => {
    const open = openJournal(dir);
    await syncfs(dir);
    // Not needed for the messages' safety (a missing mark only makes start-up after a reboot compare more files), so a failure is ignored.
    if (open) await mark(dir, open.file, `${JSON.stringify({ checkpoint: open.upTo, file: path.basename(open.file) })}\n`).catch(() => undefined);
  });

  /** The shell that runs `sync -f`, and the directories it was given that it has not answered yet, oldest first. */
  let syncer: { write(dir: string): void; waiting: Waiting[] } | undefined;
  /** A directory given to the shell; `again`: given to a second shell after the first one ended without answering. */
  interface Waiting {
    dir: string;
    resolve(): void;
    reject(e: Error): void;
    again?: boolean;
  }

  /**
   * The shell reads a directory a line and answers the exit status of
   * `sync -f <dir>` on a line of its own, in order; it ends when its input
   * closes, as it does when this thread or the process ends. Neither it nor
   * its pipes keep the thread alive.
   */
  function startSyncer(): NonNullable<typeof syncer> {
    const child = spawn('sh', ['-c', 'while IFS= read -r d; do "$1" -f "$d" >/dev/null 2>&1; echo $?; done', 'sh', syncCommand ?? 'sync'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const self: NonNullable<typeof syncer> = { write: (dir) => child.stdin!.write(`${dir}\n`), waiting: [] };
    let pending = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      pending += text;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const status = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const w = self.waiting.shift();
        if (w) (status === '0' ? w.resolve() : w.reject(new Error(`sync -f ${w.dir} ended with ${status}`)));
      }
    });
    // A shell that ended is started again at the next checkpoint; what it had not answered goes to a new one once (a shell
    // killed by hand, say), and fails only when that one ends too: a failure turns the checkpoints off for good.
    const gone = (why: string) => {
      if (syncer === self) syncer = undefined;
      for (const w of self.waiting.splice(0)) {
        if (w.again) w.reject(new Error(`sync -f ${w.dir}: its shell ${why}`));
        else ask({ ...w, again: true });
      }
    };
    child.once('error', (e) => gone(`failed: ${e.message}`));
    child.once('exit', (code, signal) => gone(`ended with ${signal ?? code}`));
    // A write to a shell that has just ended is answered by the exit above.
    child.stdin!.on('error', () => undefined);
    child.unref();
    for (const pipe of [child.stdin, child.stdout] as Array<{ unref?: () => void } | null>) pipe?.unref?.();
    return self;
  }

  function ask(w: Waiting): void {
    syncer ??= startSyncer();
    syncer.waiting.push(w);
    syncer.write(w.dir);
  }

  function syncfs(dir: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // A line break would split the directory in two lines: such a one (never a spool made by start-up's defaults) gets a spawn of its own.
      if (dir.includes('\n')) {
        const child = spawn(syncCommand ?? 'sync', ['-f', dir], { stdio: 'ignore' });
        child.once('error', reject);
        child.once('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`sync -f ${dir} ended with ${signal ?? code}`))));
        return;
      }
      ask({ dir, resolve, reject });
    }).catch((e: unknown) => {
      if (working) failed((e as Error).message);
      working = false;
      throw e;
    });
  }

  return {
    now,
    soon(dir) {
      if (timers.has(dir)) return;
      timers.set(
        dir,
        setTimeout(() => {
          timers.delete(dir);
          now(dir).catch(() => undefined);
        }, 1000),
      );
    },
    get working() {
      return working;
    },
  };
}
