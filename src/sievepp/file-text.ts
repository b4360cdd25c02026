/**
 * A file's text as the datasource drivers read it, a chunk at a time
 * (datasources/iowrapper.ts, rbldnsd-files.ts) or whole (datasources/csv.ts,
 * datasources/cdb.ts's values): in the configuration's `assume_charset`
 * when it names one, else UTF-8 when the whole file is valid UTF-8, else
 * ISO-8859-1, what Momentum assumes when a driver cannot tell. Whether
 * the file is UTF-8 is known only once it has all been read: a chunk that
 * is not starts the reading again from the file's start. A charset reads
 * the same octets as the same text however they are cut
 * (src/sieve/runtime/charset.ts).
 */
import { isUtf8 } from 'node:buffer';
import { type CharsetDecoder, charsetDecoder } from '../sieve/runtime/charset.js';

export type { CharsetDecoder };

/** The configured charset's decoder (assume_charset), made once per datasource; undefined when none is set. */
export function assumedDecoder(assumeCharset: string | undefined): CharsetDecoder | undefined {
  return assumeCharset ? charsetDecoder(assumeCharset) : undefined;
}

/** Octets held whole as text: through `assumed` when a charset is set, else UTF-8 when they all are, else ISO-8859-1. */
export function wholeText(bytes: Buffer, assumed: CharsetDecoder | undefined): string {
  return assumed ? assumed.decode(bytes, false) : isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
}

/**
 * `read` with a decoder for each chunk, from the file's start (undefined:
 * ISO-8859-1, one character an octet); a second time, without one, when
 * the file proved not to be UTF-8.
 */
export async function readAsText<T>(assumeCharset: string | undefined, read: (decoder: CharsetDecoder | undefined) => Promise<T>): Promise<T> {
  if (assumeCharset) return read(charsetDecoder(assumeCharset));
  try {
    // ignoreBOM: a byte order mark stays text, as Buffer's UTF-8 reading keeps it.
    return await read(charsetDecoder('utf-8', { fatal: true, ignoreBOM: true }));
  } catch (e) {
    // The fatal decoder's error: not UTF-8 somewhere.
    if (!(e instanceof TypeError)) throw e;
    return read(undefined);
  }
}

/** One chunk's text: through the decoder, which keeps a character cut at the chunk's end while more is to come, or one character an octet. */
export function chunkText(decoder: CharsetDecoder | undefined, chunk: Uint8Array, more: boolean): string {
  return decoder ? decoder.decode(chunk, more) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
}
