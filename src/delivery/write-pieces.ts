/**
 * Writes a message made of pieces (our Received: header, then the message
 * as received) into an open file. A spooled message is copied in chunks
 * (message-source.ts), so storing a large message never holds it whole in
 * memory (docs/server.md, "Messages on disk").
 */
import type { FileHandle } from 'node:fs/promises';
import type { MessageSource } from '../session/message-source.js';

export type Piece = Buffer | MessageSource;

export async function writePieces(fh: FileHandle, pieces: readonly Piece[]): Promise<void> {
  if (pieces.every((p) => Buffer.isBuffer(p))) return writeBuffers(fh, pieces as readonly Buffer[]);
  for (const p of pieces) {
    if (Buffer.isBuffer(p)) await writeAll(fh, p);
    else for await (const chunk of p.chunks()) await writeAll(fh, chunk as Buffer);
  }
}

/** The octets of the pieces together. */
export const piecesSize = (pieces: readonly Piece[]): number => pieces.reduce((n, p) => n + (Buffer.isBuffer(p) ? p.length : p.size), 0);

/** Pieces all in memory go in one writev(2), one system call for the common small message. */
async function writeBuffers(fh: FileHandle, buffers: readonly Buffer[]): Promise<void> {
  const { bytesWritten } = await fh.writev(buffers as Buffer[]);
  const size = piecesSize(buffers);
  if (bytesWritten < size) await writeAll(fh, Buffer.concat(buffers as Buffer[], size).subarray(bytesWritten));
}

/** A write to a file may be short (write(2)); the rest is written after it. */
async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
}
