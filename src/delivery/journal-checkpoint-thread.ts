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

  function syncfs(dir: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const child = spawn(syncCommand ?? 'sync', ['-f', dir], { stdio: 'ignore' });
      child.once('error', reject);
      child.once('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`sync -f ${dir} ended with ${signal ?? code}`))));
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
