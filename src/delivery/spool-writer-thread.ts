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
 * The thread makes the fdatasync and fsync calls of messages' files and of
 * directories through the thread pool, so that concurrent messages' syncs
 * run side by side and are committed together by the file system; the
 * calls that only change the page cache (open, write, rename, close) it
 * makes in line, and the journal's fdatasync too, one commit at a time
 * (journal-append-thread.ts says why). Each call through the pool is a
 * hand-off to a pool thread and back and a promise, and in line those
 * four cost the spool about a sixth less CPU per message (docs/server.md,
 * "The spool"). Making every call in line was tried and lost: one
 * thread then made every message's syncs in turn, and became the limit.
 * Directory fsyncs are shared by every message whose name was made before
 * one started, and journal fdatasyncs by every record appended before one
 * started (group commit, as in dir-sync.ts): durable-writes-thread.ts makes
 * the file calls, and journal-append-thread.ts appends to the journal.
 * This file is the program around them: the jobs it is handed and its
 * answers (spool-writer-protocol.ts).
 *
 * This function's source text is the thread's whole program (run with
 * `eval`, so that it works the same from tsc's output, the bundled CLI and
 * the tests): it may use nothing from outside itself but Node's built-in
 * modules, through process.getBuiltinModule, its workerData, and the
 * sources of its durable writes and of the journal's appender, compactor
 * and checkpoints, which it is called with.
 */
import type { journalCheckpoints } from './journal-checkpoint-thread.js';
import type { journalCompactor } from './journal-compaction-thread.js';
import type { durableWrites } from './durable-writes-thread.js';
import type { journalAppender, RecordAt } from './journal-append-thread.js';
import type { SpoolCheckpointFailed, SpoolJob, SpoolOpened, SpoolReply, SpoolRolled, SpoolWriterData } from './spool-writer-protocol.js';

export function spoolWriterThread(
  makeCompactor: typeof journalCompactor,
  makeCheckpoints: typeof journalCheckpoints,
  makeDurableWrites: typeof durableWrites,
  makeAppender: typeof journalAppender,
): void {
  const fs = process.getBuiltinModule('node:fs');
  const path = process.getBuiltinModule('node:path');
  const { promisify } = process.getBuiltinModule('node:util');
  const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
  const { journalLimit, crashAt, adopt, syncCommand } = workerData as SpoolWriterData;
  const CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
  const port = parentPort!;
  const mkdir = promisify(fs.mkdir);

  /** Durable writes and shared directory fsyncs, in this thread (durable-writes-thread.ts). */
  const { shared, syncDir, fsyncDir, writeAll, createDurably } = makeDurableWrites();

  /** The envelope journals, in this thread (journal-append-thread.ts). */
  const appender = makeAppender({
    journalLimit,
    adopted: adopt?.files ?? [],
    writeAll,
    fsyncDir,
    opened: (file) => port.postMessage({ opened: file } satisfies SpoolOpened),
    rolled: (dir) => port.postMessage({ rolled: dir } satisfies SpoolRolled),
  });
  const { bootId, journal, written, closedIn, journalName } = appender;

  /** Checkpoints of the journal-first spool, in this thread (journal-checkpoint-thread.ts). */
  const checkpoints = makeCheckpoints({
    openJournal: appender.openJournal,
    mark: appender.mark,
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
          // The file is made in tmp/ before the record's commit, which starts after this turn (journal-append-thread.ts),
          // once every job of the batch has queued its record; tmp/ is emptied at start-up.
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
  });
}
