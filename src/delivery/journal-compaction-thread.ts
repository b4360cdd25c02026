/**
 * The envelope journal's compaction while the server runs
 * (envelope-journal.ts, "While running"; docs/server.md, "The spool"), in
 * the spool writer's thread: spool-writer-thread.ts is called with this
 * function's source text and makes the compactor with its own helpers.
 * Like that thread's program, it may use nothing from outside itself but
 * Node's built-in modules (process.getBuiltinModule) and what it is given.
 */

/** A compaction of the journals closed in `dir`, asked for by the spool of `spoolDir`. */
export interface CompactRequest {
  dir: string;
  spoolDir: string;
  /** Messages being delivered when the request was made: their records stay, visible yet or not. */
  keep: string[];
}

/** What a compaction did: journal files it read (then removed), records it kept in the new one, records it dropped. */
export interface CompactResult {
  files: number;
  kept: number;
  dropped: number;
}

/** What the writer thread gives the compactor. */
export interface CompactorTools {
  /** The journal files the thread has closed in a directory (and the ones compactions made): the compactor's to rewrite. */
  closedIn(dir: string): Set<string>;
  /** Cluster workers that died: every journal named with their pid is closed, and this thread's to compact. */
  deadPids: number[];
  /** A new journal file name of this process. */
  journalName(): string;
  /** In line (the page cache only): a 1 MiB piece holds the thread's journal commits for well under a millisecond. */
  writeAll(fd: number, bytes: Uint8Array): void;
  fsyncDir(dir: string): Promise<void>;
  /** Makes every message file written so far durable (spool-writer-thread.ts); rejects when it cannot. */
  checkpoint(dir: string): Promise<void>;
  /** Tests only (SpoolWriterData.crashAt). */
  crashAt: 'written' | 'renamed' | 'removed' | undefined;
}

export function journalCompactor({ closedIn, deadPids, journalName, writeAll, fsyncDir, checkpoint, crashAt }: CompactorTools): (request: CompactRequest) => Promise<CompactResult> {
  const fs = process.getBuiltinModule('node:fs');
  const path = process.getBuiltinModule('node:path');
  const { promisify } = process.getBuiltinModule('node:util');
  const CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
  const open = promisify(fs.open) as (file: string, flags: number, mode?: number) => Promise<number>;
  const fdatasync = promisify(fs.fdatasync);
  const rename = promisify(fs.rename);
  const unlinkP = promisify(fs.unlink);
  const readdirP = fs.promises.readdir;

  /**
   * Compaction while running (envelope-journal.ts, "While running"): the
   * journals this thread closed before the request arrived (with those a
   * dead thread of this process left, spool-writer.ts), the one this
   * process's start-up compaction made, and every journal of a cluster
   * worker that died (`deadPids`), keep only the records of
   * messages in a folder's new/ or cur/ or still being delivered
   * (`keep`), rewritten into one new journal; the old files go. Every
   * record in them was appended for a job sent before the request, so its
   * message is visible, in `keep`, or never to be. Durable before anything
   * is removed, as at start-up: a crash leaves records twice (the same
   * ones) or a `.compacting` file that start-up removes, never none.
   */
  return async function compact(request: CompactRequest): Promise<CompactResult> {
    const { dir, spoolDir } = request;
    const own = closedIn(dir);
    // Taken before the first wait: journals closed later may hold records of jobs sent after the request.
    const files = [...own];
    const startUp = new RegExp(`^\\d+\\.P${process.pid}\\.compacted\\.journal$`);
    const dead = deadPids.length ? new RegExp(`^\\d+\\.P(${deadPids.join('|')})\\..*\\.journal$`) : undefined;
    for (const name of await readdirP(dir)) if (startUp.test(name) || dead?.test(name)) files.push(path.join(dir, name));
    if (!files.length) return { files: 0, kept: 0, dropped: 0 };
    const keep = new Set(request.keep);
    const visible = await visibleNames(spoolDir);
    const gone = new Set<string>();
    let octets = false;
    for (const file of files) {
      for await (const [id, line] of recordLines(file)) {
        if (!visible.has(id) && !keep.has(id)) gone.add(id);
        else if (!octets && line.includes('"octets":')) octets = true;
      }
    }
    // A message renamed within cur/ while it was listed (its flags changed) may be missing from one listing (readdir(3)): a second decides.
    if (gone.size) for (const id of await visibleNames(spoolDir)) gone.delete(id);
    // Every record in these files had its message file written before the
    // request: after a checkpoint their octets (journal first, maildir.ts)
    // are no longer needed. Without one they are kept, and so are the files.
    const durable = await checkpoint(dir).then(
      () => true,
      () => false,
    );
    if (gone.size === 0 && !(durable && octets)) return { files: 0, kept: 0, dropped: 0 };
    const name = journalName();
    const tmp = path.join(dir, `${name}.compacting`);
    let kept = 0;
    let dropped = 0;
    const fd = await open(tmp, CREATE, 0o600);
    try {
      let batch: string[] = [];
      let size = 0;
      for (const file of files) {
        for await (const [id, line] of recordLines(file)) {
          if (gone.has(id)) {
            dropped++;
            continue;
          }
          batch.push(durable ? withoutOctets(line) : line);
          kept++;
          if ((size += line.length) >= 1 << 20) {
            writeAll(fd, Buffer.from(batch.join('')));
            batch = [];
            size = 0;
          }
        }
      }
      writeAll(fd, Buffer.from(batch.join('')));
      await fdatasync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (crashAt === 'written') process.kill(process.pid, 'SIGKILL');
    if (kept) {
      await rename(tmp, path.join(dir, name));
      await fsyncDir(dir);
      own.add(path.join(dir, name));
      if (crashAt === 'renamed') process.kill(process.pid, 'SIGKILL');
    } else await unlinkP(tmp);
    for (const file of files) {
      await unlinkP(file).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      own.delete(file);
      if (crashAt === 'removed') process.kill(process.pid, 'SIGKILL');
    }
    return { files: files.length, kept, dropped };
  };

  /** Message names in the spool's folders (the spool and its Maildir++ `.Folder`s), new/ listed before cur/: a message moved from one to the other meanwhile is seen. */
  async function visibleNames(spoolDir: string): Promise<Set<string>> {
    const names = new Set<string>();
    const folders = [spoolDir];
    for (const e of await readdirP(spoolDir, { withFileTypes: true })) if (e.name.startsWith('.') && e.isDirectory()) folders.push(path.join(spoolDir, e.name));
    for (const folder of folders) {
      for (const sub of ['new', 'cur']) for (const n of await readdirP(path.join(folder, sub)).catch(() => [] as string[])) names.add(n.split(':')[0]!);
    }
    return names;
  }

  /** A journal's whole records, with their message names, read a piece at a time; a torn or foreign line is skipped (as start-up skips it). */
  async function* recordLines(file: string): AsyncGenerator<[string, string]> {
    let rest = '';
    let stream: AsyncIterable<string>;
    try {
      stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
      for await (const chunk of stream) {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop()!;
        for (const line of lines) {
          const id = recordId(line);
          if (id !== undefined) yield [id, `${line}\n`];
        }
      }
    } catch (e) {
      // Removed meanwhile (another process's start-up compacted it): its records are in that process's journal.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  /** A record without the message's octets it carried (journal first): one the compaction keeps once the file is durable. envelope-journal.ts's withoutOctets at start-up; a copy, as this thread's program can import nothing. */
  function withoutOctets(line: string): string {
    if (!line.includes('"octets":')) return line;
    const { octets: _, ...record } = JSON.parse(line) as Record<string, unknown>;
    return `${JSON.stringify(record)}\n`;
  }

  function recordId(line: string): string | undefined {
    try {
      const r = JSON.parse(line) as { id?: unknown };
      return typeof r?.id === 'string' ? r.id : undefined;
    } catch {
      return undefined;
    }
  }
}
