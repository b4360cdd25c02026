/**
 * A queued message where it lies in its entry file (queue-file.ts): a
 * delivery reads it from there in chunks, for SMTP and LMTP as a stream
 * with the connection's backpressure, for the Maildir route chunk by chunk
 * into the new file, so a delivery holds a chunk, never the message
 * (docs/delivery.md, "The queue").
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { COPY_CHUNK } from '../session/message-source.js';

/** Bytes a delivery's read stream holds at a time. */
const STREAM_CHUNK = 64 * 1024;

export class FileRange {
  constructor(
    readonly path: string,
    readonly start: number,
    readonly size: number,
  ) {}

  /** A fresh stream of the octets (each attempt, each next hop, reads its own). */
  stream(): ReadStream {
    return createReadStream(this.path, { start: this.start, end: this.start + this.size - 1, highWaterMark: STREAM_CHUNK });
  }

  /**
   * The octets in chunks, each read into `into` (a view of it, good until
   * the next is asked for) or into a buffer of its own.
   */
  async *chunks(into?: Buffer): AsyncIterable<Buffer> {
    const fh = await open(this.path, 'r');
    try {
      let at = 0;
      while (at < this.size) {
        const buf = into ?? Buffer.allocUnsafe(Math.min(COPY_CHUNK, this.size - at));
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, this.size - at), this.start + at);
        if (bytesRead === 0) throw new Error(`${this.path}: ends ${this.size - at} bytes before its message does`);
        at += bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }

  /** Up to `max` octets from the start (the header section of a bounce). */
  async head(max: number): Promise<Buffer> {
    const fh = await open(this.path, 'r');
    try {
      const buf = Buffer.alloc(Math.min(max, this.size));
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.start);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }
}
