/**
 * A message's body as a script sees it (SieveMessage.body: the text after
 * the empty line, decoded as UTF-8, every line end CRLF), or a MIME part's
 * body as the MIME reader gives it, read in pieces from where the message
 * is kept: a test that can read it as it comes (`body :contains`) scans a
 * spooled message of megabytes without loading it, so it holds nothing of
 * the memory budget (docs/server.md, "Messages on disk").
 */
import { StringDecoder } from 'node:string_decoder';
import type { MessageSource } from './message-source.js';

/**
 * Octets read at a time: one thread-pool job each, and a piece a test
 * scans between two turns of the event loop. Measured with 100 clients
 * each sending a 10 MiB message to a script scanning every body
 * (bench/message-memory.bench.ts): a peak of 220-224 MB at 32 KiB, against
 * 345-352 MB at 64 KiB and 196-204 MB at 16 KiB, where a scan took 1.5
 * times the CPU (3 ms a MiB at 32 KiB).
 */
export const BODY_PIECE = 32 * 1024;

/**
 * The text of the octets of `source` from `start` to `end` (a body, or a
 * MIME part's), in pieces. `bareLf`: some line of the message ends in a
 * lone LF (its CRLF size differs from its size), to be given its CR, as
 * parseMessage and the MIME reader give it (RFC 5322 2.3: CRLF is the line
 * end).
 */
export async function* textPieces(source: Pick<MessageSource, 'rangeChunks'>, start: number, end: number, bareLf: boolean, pieceOctets = BODY_PIECE): AsyncGenerator<string> {
  // A multi-octet character cut between two reads is kept for the next one.
  const decoder = new StringDecoder('utf8');
  let afterCr = false;
  const lineEnds = (text: string): string => {
    if (!bareLf || text === '') return text;
    const out = withCrlf(text, afterCr);
    afterCr = text.charCodeAt(text.length - 1) === 0x0d;
    return out;
  };
  // One buffer read into again and again: a view of it is good until the next read, and the decoder copies it out first.
  for await (const chunk of source.rangeChunks!(start, end, Buffer.allocUnsafe(pieceOctets))) {
    const text = lineEnds(decoder.write(chunk));
    if (text !== '') yield text;
  }
  const rest = lineEnds(decoder.end());
  if (rest !== '') yield rest;
}

/** `text` with a CR before each LF that has none; `afterCr`: the text before it ended with a CR. */
export function withCrlf(text: string, afterCr: boolean): string {
  const out = text.replace(BARE_LF, '\r\n');
  return !afterCr && out.charCodeAt(0) === 0x0a ? `\r${out}` : out;
}
/** An LF after any character but CR; one at the very start is seen by withCrlf, which knows what came before. */
const BARE_LF = /(?<=[^\r])\n/g;
