/**
 * A message's octets as the MIME reader reads them (mime-split.ts,
 * mime.ts): in chunks for the splitter, and by range for a part's text
 * when a test asks; the host's (a spool file, a Buffer) or a message's
 * text. The message is never read whole.
 */

/**
 * A message's octets: given to the splitter in chunks; a part's text is
 * read by range when a test asks. Offsets are in octets.
 */
export interface Octets {
  readonly length: number;
  chunks(): Iterable<Buffer> | AsyncIterable<Buffer>;
  /** The text (UTF-8) of the octets from `start` to `end`, line ends as they are. */
  text(start: number, end: number): string;
  /**
   * When `text(start, end)` would read a file on the event loop (a large
   * range of a spooled message): a promise that brings the octets into
   * memory, after which it does not. Undefined: text() is cheap now.
   */
  load?(start: number, end: number): Promise<void> | undefined;
  /** True when some line ends in a bare LF: a part's text then gets CRLF, as the message's does (parseMessage). */
  readonly bareLf?: boolean;
  /**
   * The text of the octets from `start` to `end` in pieces, line ends made
   * CRLF, read from where the host keeps them without loading them
   * (MimePart.bodyPieces); undefined when `text(start, end)` is cheap now.
   */
  pieces?(start: number, end: number): AsyncIterable<string> | undefined;
}

/**
 * The octets of a message a host keeps (a spool file, a Buffer): read in
 * chunks for the splitter and by range for a body, never whole.
 */
export function hostOctets(
  length: number,
  chunks: () => AsyncIterable<Buffer> | Iterable<Buffer>,
  range: (start: number, end: number) => Buffer,
  bareLf: boolean,
  load?: (start: number, end: number) => Promise<void> | undefined,
  pieces?: (start: number, end: number) => AsyncIterable<string> | undefined,
): Octets {
  return {
    length,
    bareLf,
    ...(load ? { load } : {}),
    ...(pieces ? { pieces } : {}),
    async *chunks() {
      for await (const c of chunks()) for (let i = 0; i < c.length; i += CHUNK) yield c.subarray(i, i + CHUNK);
    },
    text: (start, end) => (end > start ? range(start, end).toString('utf8') : ''),
  };
}

/**
 * Octets the splitter gets at a time: mailsplit splits each chunk in one
 * turn of the event loop (at most its YIELD_BYTES, 16 KiB), so one chunk is
 * one stretch of its work, which the budget is charged for (mime-split.ts
 * splitMime). A
 * quarter of that: 16 KiB of tiny parts is some 400 part headers, 20-30 ms
 * that every other session waited through at each of its replies
 * (bench/latency.bench.ts: p99 about 290 ms at 16 KiB, 80 ms at 4 KiB, with
 * splitting about a third slower, bench/mime.bench.ts).
 */
const CHUNK = 4 * 1024;

/**
 * The octets of a message held as text (UTF-8, CRLF line ends): encoded a
 * chunk at a time for the splitter, and a part's text is a slice of the
 * message's, which shares its memory: the tree holds no copy of the message.
 */
export function textOctets(text: string): Octets {
  /** Per chunk: where it starts in octets and in characters, and whether it is ASCII (then the two advance alike). */
  const starts: { octet: number; char: number; ascii: boolean }[] = [];
  let length = -1;
  const charAt = (octet: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]!.octet <= octet) lo = mid;
      else hi = mid - 1;
    }
    const c = starts[lo];
    if (!c) return 0;
    if (c.ascii) return c.char + (octet - c.octet);
    // Offsets fall on line ends (ASCII), so the text before one decodes to whole characters.
    const next = starts[lo + 1]?.char ?? text.length;
    return c.char + Buffer.from(text.slice(c.char, next)).toString('utf8', 0, octet - c.octet).length;
  };
  return {
    get length() {
      if (length < 0) length = Buffer.byteLength(text);
      return length;
    },
    *chunks() {
      let octet = 0;
      for (let char = 0; char < text.length; ) {
        let end = Math.min(text.length, char + CHUNK);
        // Never between the two halves of a surrogate pair: each chunk encodes on its own.
        const last = text.charCodeAt(end - 1);
        if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++;
        const bytes = Buffer.from(text.slice(char, end));
        starts.push({ octet, char, ascii: bytes.length === end - char });
        yield bytes;
        octet += bytes.length;
        char = end;
      }
      length = octet;
    },
    text: (start, end) => (end > start ? text.slice(charAt(start), charAt(end)) : ''),
  };
}
