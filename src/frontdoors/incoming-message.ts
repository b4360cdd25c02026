/**
 * A message as it arrives after DATA (docs/server.md, "Messages on disk"):
 * kept in memory while it is small, written to a spool file as it arrives
 * once it is not, so a hundred large messages at once cost disk, not
 * memory. The header section is kept apart as it passes (for the scripts'
 * header tests, parsed once); the rest is read again only if a script asks
 * for the body or when the store copies it.
 *
 * Memory budget (MessageMemory): bytes held in memory are reserved as they
 * arrive; a message that would pass the budget goes to disk instead, and
 * a spooled message holds its write buffer. Only when even that does not
 * fit is the DATA refused with 452 4.3.1 (RFC 3463 4.3.1).
 *
 * The spool file is not fsynced: it is not the accepted copy. The store
 * writes that durably before the 250 (maildir.ts, queue-file.ts); a crash
 * leaves only a file in the spool's tmp/, which start-up removes.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { removeFile } from '../remove-file.js';
import { bufferSource, fileSource, HEAD_LIMIT, LineScan, type MessageMemory, type MessageSource } from '../session/message-source.js';

export interface IncomingSettings {
  /** Where spool files go: the spool's tmp/ (cleared at start-up), on the store's file system. */
  dir: string;
  /** Messages up to this size stay in memory. */
  inMemoryLimit: number;
  memory: MessageMemory;
}

/** What a spooled message holds of the budget while it is written: the file's write buffer and the header kept apart. */
const WRITE_BUFFER = 64 * 1024;
const SPOOL_HOLD = WRITE_BUFFER + HEAD_LIMIT;

let sequence = 0;

/** Bytes of messages in memory at once, all sessions of a front door together; default of `max_message_memory`. */
export const DEFAULT_MESSAGE_MEMORY = 512 * 1024 * 1024;
/** Messages up to this size are kept in memory (docs/server.md, "Messages on disk"); default of `message_spool_threshold`. */
export const DEFAULT_IN_MEMORY_LIMIT = 128 * 1024;

/** One budget of `bytes` for every listener of a front door: the process's memory is one. */
export function memoryBudget(bytes: number): MessageMemory {
  let held = 0;
  return {
    reserve: (n) => {
      if (held + n > bytes) return false;
      held += n;
      return true;
    },
    release: (n) => {
      held -= n;
    },
  };
}

export class IncomingMessage {
  size = 0;
  /** The budget had no room even for a spooled message's buffers. */
  noMemory = false;
  private readonly scan = new LineScan();
  private chunks: Buffer[] = [];
  /** The first octets, until the header section's end is found (or HEAD_LIMIT passed). */
  private headChunks: Buffer[] = [];
  private headLength = 0;
  private held = 0;
  private file: WriteStream | undefined;
  private path: string | undefined;
  private failed: Error | undefined;

  constructor(private readonly settings: IncomingSettings) {}

  /**
   * Takes the next chunk. Returns false when the spool file's buffer is
   * full: wait for `drained()` before giving more (the client's socket is
   * then paused, which is TCP's own backpressure).
   */
  write(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.noMemory) return true;
    // The chunk that holds the header section's end is kept too.
    const inHead = this.scan.headEnd < 0 && this.headLength <= HEAD_LIMIT;
    this.scan.push(chunk);
    if (inHead) {
      this.headChunks.push(chunk);
      this.headLength += chunk.length;
    }
    if (this.file) return this.file.write(chunk);
    if (this.size <= this.settings.inMemoryLimit && this.settings.memory.reserve(chunk.length)) {
      this.held += chunk.length;
      this.chunks.push(chunk);
      return true;
    }
    return this.spool(chunk);
  }

  /** Resolves when the spool file can take more. */
  drained(): Promise<void> {
    const file = this.file;
    return new Promise((resolve) => {
      if (!file || !file.writableNeedDrain || this.failed) return resolve();
      // A failed write stream closes without draining: finish() reports its error.
      const done = () => {
        file.off('drain', done);
        file.off('close', done);
        resolve();
      };
      file.on('drain', done);
      file.on('close', done);
    });
  }

  /** The whole message has arrived: the source the session reads. */
  async finish(): Promise<MessageSource> {
    const head = this.head();
    if (!this.file) {
      const held = this.held;
      this.held = 0;
      return bufferSource(this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks), () => this.settings.memory.release(held));
    }
    const file = this.file;
    await new Promise<void>((resolve, reject) => {
      file.once('error', reject);
      file.end(() => resolve());
    });
    // Written: the write buffer is free again. What the source holds from now on is what a script reads whole.
    this.settings.memory.release(this.held);
    this.held = 0;
    if (this.failed) throw this.failed;
    return fileSource(this.path!, { size: this.size, bareLf: this.scan.bareLf, head }, this.settings.memory);
  }

  /** The transfer was abandoned (too big, too slow, no memory): nothing is kept. */
  async discard(): Promise<void> {
    this.chunks = [];
    this.headChunks = [];
    this.settings.memory.release(this.held);
    this.held = 0;
    if (this.file) {
      this.file.destroy();
      await removeFile(this.path!);
    }
  }

  private spool(chunk: Buffer): boolean {
    this.settings.memory.release(this.held);
    this.held = 0;
    if (!this.settings.memory.reserve(SPOOL_HOLD)) {
      this.noMemory = true;
      this.chunks = [];
      this.headChunks = [];
      return true;
    }
    this.held = SPOOL_HOLD;
    this.path = join(this.settings.dir, `incoming.${process.pid}.${++sequence}.${randomBytes(4).toString('hex')}`);
    this.file = createWriteStream(this.path, { flags: 'wx', mode: 0o600, highWaterMark: WRITE_BUFFER });
    this.file.on('error', (e) => (this.failed ??= e));
    for (const c of this.chunks) this.file.write(c);
    this.chunks = [];
    return this.file.write(chunk);
  }

  private head(): Buffer | undefined {
    const end = this.scan.headEnd;
    if (end < 0 || end > HEAD_LIMIT) return undefined;
    const head = Buffer.from(Buffer.concat(this.headChunks).subarray(0, end));
    this.headChunks = [];
    return head;
  }
}
