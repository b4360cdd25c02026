/**
 * Writes a message made of pieces (our Received: header, then the message
 * as received) into an open file. A spooled message is copied in chunks
 * (message-source.ts), so storing a large message never holds it whole in
 * memory (docs/server.md, "Messages on disk").
 */
import { closeSync, constants, fdatasync, open as openCallback, write, writev } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { COPY_CHUNK, type MessageSource } from '../session/message-source.js';
import { FileRange } from './file-range.js';

/** A message in memory, a received one (maybe in its spool file), or a queued one in its entry file. */
export type Piece = Buffer | MessageSource | FileRange;

/** An open file: a FileHandle, or a plain descriptor (the Maildir's hot path, cheaper per call). */
export type WriteTarget = FileHandle | number;

const writeFd = promisify(write) as (fd: number, b: Buffer, off: number, len: number) => Promise<{ bytesWritten: number }>;
const writevFd = promisify(writev) as (fd: number, bs: Buffer[]) => Promise<{ bytesWritten: number }>;

export async function writePieces(target: WriteTarget, pieces: readonly Piece[]): Promise<void> {
  // A message held in memory (no spool file) is read whole for free.
  const buffers = pieces.map((p) => (Buffer.isBuffer(p) ? p : p instanceof FileRange || p.path !== undefined ? undefined : p.bytes()));
  if (buffers.every((b) => b !== undefined)) return writeBuffers(target, buffers as Buffer[]);
  // One buffer for the whole copy: each chunk is written before the next is read into it.
  let into: Buffer | undefined;
  for (const p of pieces) {
    if (Buffer.isBuffer(p)) await writeAll(target, p);
    else for await (const chunk of p.chunks((into ??= Buffer.allocUnsafeSlow(COPY_CHUNK)))) await writeAll(target, chunk as Buffer);
  }
}

/** The octets of the pieces together. */
export const piecesSize = (pieces: readonly Piece[]): number => pieces.reduce((n, p) => n + (Buffer.isBuffer(p) ? p.length : p.size), 0);

/** Pieces all in memory go in one writev(2), one system call for the common small message. */
async function writeBuffers(target: WriteTarget, buffers: readonly Buffer[]): Promise<void> {
  const { bytesWritten } = typeof target === 'number' ? await writevFd(target, buffers as Buffer[]) : await target.writev(buffers as Buffer[]);
  const size = piecesSize(buffers);
  if (bytesWritten < size) await writeAll(target, Buffer.concat(buffers as Buffer[], size).subarray(bytesWritten));
}

/** A write to a file may be short (write(2)); the rest is written after it. */
async function writeAll(target: WriteTarget, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    off += (typeof target === 'number' ? await writeFd(target, buf, off, buf.length - off) : await target.write(buf, off, buf.length - off)).bytesWritten;
  }
}

const openFd = promisify(openCallback) as (path: string, flags: number, mode: number) => Promise<number>;
const fdatasyncFd = promisify(fdatasync);

/**
 * Creates `path` (never over an existing name) with the pieces and makes
 * its content durable. fdatasync(2) rather than fsync(2): it "does not
 * flush modified metadata unless that metadata is needed in order to allow
 * a subsequent data retrieval to be correctly handled", and the size of a
 * file that grew is such metadata (the man page's own example), so the
 * whole content survives a power loss; what it skips is timestamps. The
 * name itself is made durable by the directory fsync (fsync(2): "an
 * explicit fsync() on a file descriptor for the directory is also needed").
 */
export async function writeDurably(path: string, pieces: readonly Piece[]): Promise<void> {
  // Plain descriptors and callback calls, not FileHandle: per message the
  // promise API's handle objects cost the event loop about half as much
  // again, measured under the accept-rate benchmark's load.
  const fd = await openFd(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await writePieces(fd, pieces);
    await fdatasyncFd(fd);
  } finally {
    // close(2) in line, not on the thread pool: after fdatasync there is
    // nothing left to write back, so it returns at once, and a thread-pool
    // round trip costs the event loop more than the call itself.
    closeSync(fd);
  }
}
