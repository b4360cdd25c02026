/**
 * The largest chunk any stream is written while `work` runs: a measure of
 * whether a message was handed to a library whole or in pieces
 * (src/in-turns.ts) that needs no clock. Writable's and Duplex's `write`
 * (Node copies Writable's methods onto Duplex) are wrapped meanwhile.
 */
import { Duplex, Writable } from 'node:stream';

export async function largestWrite<T>(work: () => Promise<T>): Promise<{ value: T; largest: number }> {
  let largest = 0;
  const originals = [Writable.prototype, Duplex.prototype].map((proto) => [proto, proto.write] as const);
  for (const [proto, write] of originals) {
    proto.write = function (this: Writable, chunk: unknown, ...rest: never[]) {
      if (Buffer.isBuffer(chunk) || typeof chunk === 'string') largest = Math.max(largest, chunk.length);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof proto.write;
  }
  try {
    return { value: await work(), largest };
  } finally {
    for (const [proto, write] of originals) proto.write = write;
  }
}
