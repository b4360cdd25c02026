/**
 * Strings as they cross to and from the worker threads (match-pool.ts):
 * as bytes, moved rather than copied. Posting a 10 MB string copies it
 * through V8's serializer (tens of milliseconds on the sending thread);
 * encoding it is a plain copy, and Latin-1 is the common case (V8 keeps
 * such strings one byte a character).
 */
export interface WorkerBytes {
  bytes: ArrayBuffer;
  encoding: 'latin1' | 'utf16le';
}

/** Characters outside Latin-1: a one-byte string has none, which V8 answers without scanning. */
const WIDE = /[^\x00-\xff]/;

export function encode(value: string): WorkerBytes {
  const encoding = WIDE.test(value) ? 'utf16le' : 'latin1';
  const b = Buffer.from(value, encoding);
  // A large Buffer owns its memory; a small one may share Node's pool, which must not be moved.
  const bytes = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? (b.buffer as ArrayBuffer) : new Uint8Array(b).buffer;
  return { bytes, encoding };
}

/** The string `encode` made. */
export const decode = (b: WorkerBytes): string => Buffer.from(b.bytes).toString(b.encoding);
