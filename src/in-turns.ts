/**
 * A message in memory handed to a library's stream a piece an event-loop
 * turn, so that other sessions run between the pieces: written whole, or
 * piece after piece on each 'drain' (a microtask later), a stream does all
 * its work in one turn. DKIM signing (src/session/dkim-signing.ts),
 * disclaimers (src/session/disclaimers.ts) and the 7-bit conversion of a
 * part for a next hop (src/delivery/seven-bit.ts) held every other
 * session for a tenth to four tenths of a second over a 10 MB message
 * (docs/server.md, "Messages on disk").
 */
import { Readable } from 'node:stream';

/** Octets a turn: a few milliseconds of the libraries' work. */
const PIECE = 64 * 1024;

/** `bytes` as a stream of PIECE-octet pieces, each given in an event-loop turn of its own (setImmediate). */
export function inTurns(bytes: Buffer): Readable {
  let at = 0;
  return new Readable({
    read() {
      setImmediate(() => {
        const end = Math.min(at + PIECE, bytes.length);
        this.push(end > at ? bytes.subarray(at, end) : null);
        at = end;
      });
    },
  });
}
