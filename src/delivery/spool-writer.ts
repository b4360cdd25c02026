/**
 * Hands small messages to the spool writer's thread (spool-writer-thread.ts):
 * one message to it and one back per accepted message, instead of a
 * thread-pool round trip and a promise for each file-system call on the
 * event loop. The thread also owns the envelope journal (envelope-journal.ts):
 * a large message's envelope record goes to it alone. One thread for the
 * process, started on first use; it keeps the process alive only while it
 * has work.
 */
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { MessageSource } from '../session/message-source.js';
import type { Piece } from './write-pieces.js';
import { durableWrites } from './durable-writes-thread.js';
import { journalAppender } from './journal-append-thread.js';
import { journalCheckpoints } from './journal-checkpoint-thread.js';
import { type CompactRequest, type CompactResult, journalCompactor } from './journal-compaction-thread.js';
import type { SpoolCheckpointFailed, SpoolJob, SpoolOpened, SpoolReply, SpoolRolled, SpoolWriterData } from './spool-writer-protocol.js';
import { spoolWriterThread } from './spool-writer-thread.js';

/**
 * Files up to this size are written by the thread, copied into one buffer
 * of their own to be handed over; larger ones (a spooled message is copied
 * from its file in chunks) are written from the event loop, where a large
 * write costs no more hand-offs.
 */
export const SMALL_WRITE = 256 * 1024;

/** A journal file is closed past this size and the next record starts a new one; start-up compacts them (envelope-journal.ts). */
const JOURNAL_LIMIT = 64 * 1024 * 1024;

/**
 * A job handed over while others are under way waits this long on the
 * event loop, or until this many have gathered, and goes to the thread
 * with the rest: their records share one commit of the journal, as
 * PostgreSQL's commit_delay with commit_siblings, and the thread is woken
 * once for all of them. A job with nothing under way, a lone client's,
 * goes after the turn it came in. Measured with 20 clients (docs/server.md,
 * "Where the rest of the gap goes", "A commit delay").
 */
const GATHER_MS = 3;
const GATHER_JOBS = 64;

export class SpoolWriter {
  private worker: Worker | undefined;
  private seq = 0;
  /** The last job handed to the thread: a thread that dies fails the jobs up to it, not those still to be sent. */
  private sent = 0;
  private readonly waiting = new Map<number, { resolve: (reply: SpoolReply) => void; reject: (e: Error) => void }>();
  /** Per journal directory: what to do when the thread closed a journal there past its size (its spool compacts the journal). */
  private readonly rollListeners = new Map<string, () => void>();
  /** Jobs to hand over together: each message to the thread wakes it, and waking costs more than the copy. */
  private batch: SpoolJob[] = [];
  /** The batch is held for others to join it (GATHER_MS). */
  private gathering: ReturnType<typeof setTimeout> | undefined;
  /** Journal files the running thread opened. */
  private opened = new Set<string>();
  /** Journal files of threads that died, until a compaction of their directory has run: the next thread compacts them as its own. */
  private readonly orphans = new Set<string>();
  private checkpointFailure: ((message: string) => void) | undefined;

  constructor(private readonly data: SpoolWriterData = { journalLimit: JOURNAL_LIMIT, adopt: { files: [], pids: adoptedPids() } }) {}

  /**
   * Resolves once the job's files are durable in place and its record in
   * the journal, with the number of directory fsyncs the job started;
   * rejects with none of its files left. The files' buffers are
   * transferred: each must own its ArrayBuffer (ownBytes).
   */
  write(job: Omit<SpoolJob, 'seq'>): Promise<number> {
    return this.submit(job).then((r) => r.dirSyncs);
  }

  /**
   * Compacts the journals the thread has closed in `request.dir`
   * (envelope-journal.ts, "While running"), in the thread. Sent in order
   * with the writes: the thread lists the journals it compacts after every
   * job handed over before this call and before any handed over after it.
   */
  compact(request: CompactRequest): Promise<CompactResult> {
    const handedOver = [...this.orphans].filter((f) => dirname(f) === request.dir);
    return this.submit({ compact: request }).then((r) => {
      for (const f of handedOver) this.orphans.delete(f);
      return r.compacted ?? { files: 0, kept: 0, dropped: 0 };
    });
  }

  /**
   * A checkpoint of the journal in `dir` now (maildir.ts, "Journal first"):
   * resolves once every message file written journal first so far is
   * durable; rejects when the thread cannot make checkpoints.
   */
  checkpoint(dir: string): Promise<void> {
    return this.submit({ checkpoint: dir }).then(() => undefined);
  }

  /** Calls `listener` when checkpoints stop working (the thread then writes every message the durable way). */
  onCheckpointFailure(listener: (message: string) => void): void {
    this.checkpointFailure = listener;
  }

  /** Calls `listener` whenever the thread closed a journal in `dir` past its size limit. */
  onRoll(dir: string, listener: () => void): void {
    this.rollListeners.set(dir, listener);
  }

  private submit(job: Omit<SpoolJob, 'seq'>): Promise<SpoolReply> {
    const seq = ++this.seq;
    if (this.batch.length === 0) {
      if (this.waiting.size > 0) this.gathering = setTimeout(() => this.send(), GATHER_MS);
      else setImmediate(() => this.send());
    }
    this.batch.push({ ...job, seq });
    // Enough to share a commit: they go after this turn.
    if (this.gathering && this.batch.length >= GATHER_JOBS) {
      clearTimeout(this.gathering);
      this.gathering = undefined;
      setImmediate(() => this.send());
    }
    return new Promise((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
  }

  private send(): void {
    // Called by the gathering's timer, or after the turn with none running (cleared when 64 gathered).
    this.gathering = undefined;
    const jobs = this.batch;
    this.batch = [];
    const worker = this.worker ?? this.start();
    worker.ref();
    this.sent = jobs[jobs.length - 1]!.seq;
    const transfer: ArrayBuffer[] = [];
    for (const j of jobs) for (const f of j.files ?? []) transfer.push(f.bytes.buffer as ArrayBuffer);
    worker.postMessage(jobs, transfer);
  }

  private start(): Worker {
    const adopt = { files: [...(this.data.adopt?.files ?? []), ...this.orphans], pids: this.data.adopt?.pids ?? [] };
    const worker = new Worker(`(${spoolWriterThread.toString()})(${journalCompactor.toString()}, ${journalCheckpoints.toString()}, ${durableWrites.toString()}, ${journalAppender.toString()})`, { eval: true, name: 'spool-writer', workerData: { ...this.data, adopt } });
    this.opened = new Set();
    // Once this thread has written something, the journals a dead one left are compacted; not before, so
    // that a thread that cannot work is not restarted over and over by compactions.
    let orphansWaiting = this.orphans.size > 0;
    worker.on('message', (replies: SpoolReply[] | SpoolRolled | SpoolOpened | SpoolCheckpointFailed) => {
      if (!Array.isArray(replies)) {
        if ('opened' in replies) this.opened.add(replies.opened);
        else if ('checkpointFailed' in replies) this.checkpointFailure?.(replies.checkpointFailed);
        else this.rollListeners.get(replies.rolled)?.();
        return;
      }
      for (const r of replies) {
        const w = this.waiting.get(r.seq);
        if (!w) continue;
        this.waiting.delete(r.seq);
        if (!r.error) w.resolve(r);
        else w.reject(Object.assign(new Error(r.error.message), r.error.code ? { code: r.error.code } : {}));
      }
      if (orphansWaiting && replies.some((r) => !r.error)) {
        orphansWaiting = false;
        for (const dir of new Set([...this.orphans].map((f) => dirname(f)))) this.rollListeners.get(dir)?.();
      }
      if (this.waiting.size === 0) worker.unref();
    });
    // The thread died (it should not): what it had in hand fails (the
    // clients hear 451 and send again), and the next message starts a new one.
    const lost = (e: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const [seq, w] of this.waiting) {
        if (seq > this.sent) continue;
        this.waiting.delete(seq);
        w.reject(e);
      }
      // Its journals are closed for good: the next thread compacts them (below).
      for (const f of this.opened) this.orphans.add(f);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the spool writer thread exited (${code})`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }
}

/**
 * Cluster workers that died, whose journals this process takes over: the
 * primary names them to the worker it starts in their place
 * (src/ops/cluster.ts), and only to that one.
 */
export const ADOPT_ENV = 'SMTP_CBV_ADOPT_JOURNALS_OF';

export function adoptedPids(env: NodeJS.ProcessEnv = process.env): number[] {
  return (env[ADOPT_ENV] ?? '').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
}

/** The process's one spool writer. */
export const spoolWriter = new SpoolWriter();

/**
 * The octets of `pieces` together in one new buffer of its own, which can
 * be transferred to the thread; undefined when a piece is on disk or past
 * `limit` octets (a large write costs the event loop no more hand-offs
 * than the thread would). The size is known before anything is copied.
 */
export function ownBytes(pieces: readonly Piece[], limit: number): Uint8Array | undefined {
  let size = 0;
  for (const p of pieces) {
    if (!Buffer.isBuffer(p) && p.path !== undefined) return undefined;
    size += Buffer.isBuffer(p) ? p.length : p.size;
  }
  if (size > limit) return undefined;
  const bytes = new Uint8Array(size);
  let off = 0;
  for (const p of pieces) {
    // Every piece is in memory here (no path), so none is a FileRange.
    const b = Buffer.isBuffer(p) ? p : (p as MessageSource).bytes();
    bytes.set(b, off);
    off += b.length;
  }
  return bytes;
}
