/**
 * A file's text as the datasource drivers read it a chunk at a time
 * (datasources/iowrapper.ts, rbldnsd-files.ts): in the configuration's
 * `assume_charset` when it names one, else UTF-8 when the whole file is
 * valid UTF-8, else ISO-8859-1, what Momentum assumes when a driver cannot
 * tell. Whether the file is UTF-8 is known only once it has all been read:
 * a chunk that is not starts the reading again from the file's start.
 */
import { TextDecoder } from 'node:util';

/**
 * `read` with a decoder for each chunk, from the file's start (undefined:
 * ISO-8859-1, one character an octet); a second time, without one, when
 * the file proved not to be UTF-8.
 */
export async function readAsText<T>(assumeCharset: string | undefined, read: (decoder: TextDecoder | undefined) => Promise<T>): Promise<T> {
  if (assumeCharset) return read(new TextDecoder(assumeCharset));
  try {
    // ignoreBOM: a byte order mark stays text, as Buffer's UTF-8 reading keeps it.
    return await read(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }));
  } catch (e) {
    // The fatal decoder's error: not UTF-8 somewhere.
    if (!(e instanceof TypeError)) throw e;
    return read(undefined);
  }
}

/** One chunk's text: through the streaming decoder while more is to come, or one character an octet. */
export function chunkText(decoder: TextDecoder | undefined, chunk: Uint8Array, more: boolean): string {
  return decoder ? decoder.decode(chunk, { stream: more }) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
}
