/**
 * What the spool writer (spool-writer.ts) and its thread
 * (spool-writer-thread.ts) say to each other: the jobs handed over, the
 * thread's replies and the notices it sends apart from them, and the data
 * the thread is started with. Types only: the thread's program can import
 * nothing (spool-writer-thread.ts).
 */
import type { CompactRequest, CompactResult } from './journal-compaction-thread.js';

/** A file made durable under a temporary name, then renamed into place. */
export interface SpoolFile {
  /** Where it is written first (the spool's tmp/, or `<id>.tmp` beside a queue entry). */
  tmp: string;
  /** Where it is renamed to once durable (a folder's new/, the queue's entries/). */
  path: string;
  /** Its content (transferred, not copied): for a message, our Received: header included. */
  bytes: Uint8Array;
  /** A Maildir++ folder whose tmp/, new/ and cur/ may need creating. */
  folderDir?: string;
}

/**
 * One job for the thread: files, all or none, and an envelope record that
 * is durable before any of them is renamed; or a record alone (a large
 * message the event loop writes itself).
 */
export interface SpoolJob {
  seq: number;
  files?: SpoolFile[];
  /** An envelope record (one line of JSON, line break included, envelope-journal.ts) for the journal in `dir` (the spool's envelopes/). */
  record?: { dir: string; line: string };
  /**
   * One message file with its record: the record carries the message's
   * octets, and the file is written without syncs once the record is
   * durable (maildir.ts, "Journal first"). The thread writes it the durable
   * way instead when it cannot make checkpoints.
   */
  journalFirst?: boolean;
  /** Instead: a checkpoint of the journal in this directory now (maildir.ts, "Journal first"); an error when none can be made. */
  checkpoint?: string;
  /** Instead: compact the journals this thread has closed in `dir` (envelope-journal.ts, "While running"). */
  compact?: CompactRequest;
}

/** The thread's answer: the files are durable in place and the record in the journal (no error), or none of the files is left. */
export interface SpoolReply {
  seq: number;
  error?: { message: string; code?: string };
  /** Directory fsyncs this job started (others waited on them too): for the benchmarks' count of fsyncs. */
  dirSyncs: number;
  compacted?: CompactResult;
}

/** Sent by the thread, apart from the replies, when it closed a journal in `rolled` past its size limit: time to compact. */
export interface SpoolRolled {
  rolled: string;
}

/** What the thread is started with. */
export interface SpoolWriterData {
  /** A journal file that has grown past this many octets is closed, and the next record starts a new one. */
  journalLimit: number;
  /** Tests only (test/delivery/crash-compaction.test.ts): the process kills itself at this step of a compaction. */
  crashAt?: 'written' | 'renamed' | 'removed';
  /**
   * Journals whose writer is gone, for this thread to compact as its own
   * closed ones: `files` a thread of this process opened before it died
   * (spool-writer.ts), `pids` cluster workers that died (every journal
   * named with their pid; docs/operations.md, "Workers").
   */
  adopt?: { files: string[]; pids: number[] };
  /** Tests only: the program run as `<it> -f <dir>` for a checkpoint's syncfs(2) (coreutils' `sync` otherwise). */
  syncCommand?: string;
}

/** Sent by the thread when checkpoints stopped working: later messages are written the durable way (maildir.ts, "Journal first"). */
export interface SpoolCheckpointFailed {
  checkpointFailed: string;
}

/** Sent by the thread when it opens a journal file: the process knows what a thread that dies leaves behind. */
export interface SpoolOpened {
  opened: string;
}
