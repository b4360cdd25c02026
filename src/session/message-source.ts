/**
 * The message of a transaction as the session holds it: its size, its
 * header section (read as it arrives, so the header fields are parsed
 * once) and the whole message, which stays where it is (in a spool file,
 * or in memory when small) until someone needs it: a script that reads
 * the body (docs/server.md, "Messages on disk"), or the store that copies
 * it into the Maildir in chunks.
 *
 * Every front door hands the session the same type: the SMTP front door and
 * the milter a spooled file or, when small, a Buffer (incoming-message.ts
 * in src/frontdoors), the dry run a Buffer.
 */
import { closeSync, createReadStream, openSync, readFileSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostOctets, lazyMessage, type SieveMessage } from '../sieve/index.js';
import { removeFile } from '../remove-file.js';
import { textPieces } from './body-text.js';

/** Bytes of messages held in memory by every session at once (a front door shares one among its listeners). */
export interface MessageMemory {
  /** Takes `bytes` from the budget; false (nothing taken) when that would exceed it. */
  reserve(bytes: number): boolean;
  release(bytes: number): void;
}

/** A script needed a spooled message in memory and the budget had no room for it: the DATA gets 452 4.3.1 (RFC 3463 4.3.1). */
export class MessageMemoryRefused extends Error {
  constructor(bytes: number) {
    super(`no room in the message memory budget for ${bytes} bytes`);
  }
}

export interface MessageSource {
  /** Octets as received. */
  readonly size: number;
  /** Octets with every line ending CRLF: the size Sieve reports (RFC 5228 5.9), without reading the message again. */
  readonly crlfSize: number;
  /**
   * The header section through the empty line that ends it (RFC 5322 2.1),
   * or undefined when the message has none within the first HEAD_LIMIT
   * octets (then readers parse the whole message).
   */
  readonly head: Buffer | undefined;
  /**
   * The spool file, when the message is on disk. Readers go through
   * `bytes()` and `chunks()`, never the file itself: a message whose header
   * section was replaced (withHead) keeps its body in the same file.
   */
  readonly path: string | undefined;
  /**
   * The whole message. A spooled one is read from disk and held against the
   * memory budget: synchronously, unless `load()` brought it in first.
   */
  bytes(): Buffer;
  /**
   * Brings a spooled message into memory without holding up the event
   * loop (read in LOAD_CHUNK pieces on the thread pool), held against the
   * memory budget as `bytes()` holds it; undefined when it is in memory
   * already. A script reading it whole, or a part of it past RANGE_LIMIT,
   * waits for this first (sieveView), so `bytes()` then reads nothing.
   */
  load?(): Promise<void> | undefined;
  /** With `load`: whether the whole message is in memory now (read by `bytes()` or a load), so reading it costs nothing more. */
  loaded?(): boolean;
  /** The whole message decoded as UTF-8, once; a spooled one holds the text against the budget as well as its octets. */
  text(): string;
  /**
   * The message in chunks of bounded size, for copying it into the store
   * without holding it whole. With `into`, a spooled message is read into
   * that one buffer again and again: each chunk is a view of it, good only
   * until the next is asked for. A copy that writes each chunk before
   * asking for the next then makes no garbage at all, where a new buffer
   * per chunk makes the whole message's size of it: a hundred large
   * messages stored at once otherwise pile up their chunks until the
   * collector frees them (docs/server.md, "Messages on disk").
   */
  chunks(into?: Buffer): AsyncIterable<Buffer>;
  /** The octets from `start` to `end` (a MIME part's body), read without the rest of the message. */
  range?(start: number, end: number): Buffer;
  /**
   * The octets from `start` to `end` read into `into` again and again, on
   * the thread pool, as `chunks(into)` reads the whole: a large body (or a
   * part's) read as it comes, without the rest of the message (body-text.ts).
   */
  rangeChunks?(start: number, end: number, into: Buffer): AsyncIterable<Buffer>;
  /** Removes the spool file and gives back what the message held of the memory budget. */
  dispose(): Promise<void>;
}

/** The message as a script sees it: the header fields parsed from the header section, the rest read when a test asks. */
export function sieveView(source: MessageSource): SieveMessage {
  // The MIME reader streams the source and reads a body by its range: a script that reads the structure does not load the message.
  // A large body is read as part of the whole message, which the memory budget holds (docs/server.md, "Messages on disk"),
  // and which a test loads first (load): the readers below are synchronous, and then find it in memory.
  const large = (start: number, end: number) => end - start > RANGE_LIMIT;
  const range = source.range && ((start: number, end: number) => (large(start, end) ? source.bytes().subarray(start, end) : source.range!(start, end)));
  const load = source.load && ((start: number, end: number) => (large(start, end) ? source.load!() : undefined));
  // A spooled body (or a large part's) not in memory is read in pieces by a test that can (`body :contains`), holding nothing of the budget.
  const bareLf = source.crlfSize !== source.size;
  const loaded = source.loaded;
  const pieces = loaded && source.rangeChunks && ((start: number, end: number) => (loaded() ? undefined : textPieces(source, start, end, bareLf)));
  const octets = range && (() => hostOctets(source.size, () => source.chunks(), range, bareLf, load, pieces && ((start, end) => (large(start, end) ? pieces(start, end) : undefined))));
  const head = source.head;
  const readBody = head && pieces && (() => pieces(head.length, source.size));
  return lazyMessage(head?.toString('utf8'), source.crlfSize, () => source.text(), octets, source.load && (() => source.load!()), readBody || undefined);
}

/** A MIME part's body larger than this is read with the whole message, against the memory budget. */
export const RANGE_LIMIT = 64 * 1024;

/**
 * Octets a spooled message is loaded by at a time (load): each read is a
 * thread-pool job, and between two the event loop serves other sessions.
 */
export const LOAD_CHUNK = 1024 * 1024;

/** Header sections longer than this are not kept apart: such a message is read whole when a script looks at it. */
export const HEAD_LIMIT = 256 * 1024;

/** A message in memory (the milter, the dry run, small SMTP messages). */
export function bufferSource(message: Buffer, release?: () => void): MessageSource {
  let text: string | undefined;
  const scan = new LineScan();
  scan.push(message);
  return {
    size: message.length,
    crlfSize: message.length + scan.bareLf,
    head: scan.headEnd >= 0 ? message.subarray(0, scan.headEnd) : undefined,
    path: undefined,
    bytes: () => message,
    text: () => (text ??= message.toString('utf8')),
    chunks: async function* () {
      yield message;
    },
    range: (start, end) => message.subarray(start, end),
    dispose: async () => release?.(),
  };
}

/** A message in a spool file, as incoming-message.ts wrote it. */
export function fileSource(path: string, info: { size: number; bareLf: number; head: Buffer | undefined }, memory?: MessageMemory, loadChunk = LOAD_CHUNK): MessageSource {
  let whole: Buffer | undefined;
  let text: string | undefined;
  /**
   * The descriptor part bodies are read through: opened at the first read,
   * closed when the transaction lets the message go (dispose). A loop over
   * many parts reads many bodies, and an open and a close each is two more
   * system calls per part, with every other session waiting.
   */
  let fd: number | undefined;
  /** Bytes this message holds of the budget: its octets, then its text, once read. */
  let held = 0;
  const hold = (bytes: number) => {
    if (memory && !memory.reserve(bytes)) throw new MessageMemoryRefused(bytes);
    held += bytes;
  };
  /** Whether the octets are held (by bytes() or a load, whichever came first), and the load under way. */
  let octetsHeld = false;
  let loading: Promise<void> | undefined;
  let disposed = false;
  const holdOctets = () => {
    if (!octetsHeld) hold(info.size);
    octetsHeld = true;
  };
  /** The file read in LOAD_CHUNK pieces, each a thread-pool job: the event loop only sees each piece arrive. */
  const loadWhole = async () => {
    holdOctets();
    const out = Buffer.allocUnsafe(info.size);
    let done = 0;
    // A descriptor of its own: dispose may close the ranges' one meanwhile, and remove the file (an open file stays readable).
    const file = await open(path, 'r');
    try {
      while (done < out.length) {
        const { bytesRead } = await file.read(out, done, Math.min(loadChunk, out.length - done), done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
    } finally {
      await file.close();
    }
    // A transaction that ended meanwhile gave its budget back; bytes() may have read it meanwhile too.
    if (!disposed) whole ??= done < out.length ? out.subarray(0, done) : out;
  };
  return {
    size: info.size,
    crlfSize: info.size + info.bareLf,
    head: info.head,
    path,
    bytes() {
      if (whole) return whole;
      holdOctets();
      whole = readFileSync(path);
      return whole;
    },
    load() {
      if (whole) return undefined;
      return (loading ??= loadWhole().finally(() => {
        loading = undefined;
      }));
    },
    loaded: () => whole !== undefined,
    text() {
      if (text !== undefined) return text;
      const octets = this.bytes();
      // A JavaScript string of mail is about one byte a character (V8 keeps Latin-1 text so): count it once more.
      hold(info.size);
      text = octets.toString('utf8');
      return text;
    },
    chunks: (into) => (into ? readInto(path, into) : createReadStream(path, { highWaterMark: COPY_CHUNK })),
    rangeChunks: (start, end, into) => readInto(path, into, start, end),
    range: (start, end) => (whole ? whole.subarray(start, end) : readRange((fd ??= openSync(path, 'r')), start, end)),
    async dispose() {
      disposed = true;
      memory?.release(held);
      held = 0;
      whole = undefined;
      text = undefined;
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      await removeFile(path);
    },
  };
}

/**
 * The message with a new header section (the header fields we add at DATA,
 * docs/authentication.md) and the same body, which stays where it is:
 * a spooled message is not read into memory to change its header.
 * `source.head` must be set; the new head ends with the same empty line.
 */
export function withHead(source: MessageSource, head: Buffer): MessageSource {
  const old = source.head;
  if (!old) throw new Error('withHead: the message has no header section apart');
  let whole: Buffer | undefined;
  let text: string | undefined;
  const body = () => source.bytes().subarray(old.length);
  return {
    size: source.size - old.length + head.length,
    crlfSize: source.crlfSize - (old.length + bareLfs(old)) + head.length + bareLfs(head),
    head,
    path: source.path,
    bytes: () => (whole ??= Buffer.concat([head, body()])),
    ...(source.load ? { load: () => (whole ? undefined : source.load!()) } : {}),
    ...(source.loaded ? { loaded: () => whole !== undefined || source.loaded!() } : {}),
    text() {
      return (text ??= this.bytes().toString('utf8'));
    },
    chunks: async function* (into) {
      yield head;
      let skip = old.length;
      for await (const chunk of source.chunks(into)) {
        if (skip >= chunk.length) {
          skip -= chunk.length;
          continue;
        }
        yield skip ? chunk.subarray(skip) : chunk;
        skip = 0;
      }
    },
    // Offsets in the new head are the head's; past it, the body's in the old source.
    rangeChunks: source.rangeChunks && (async function* (start, end, into) {
      if (start < head.length) yield head.subarray(start, Math.min(end, head.length));
      if (end > head.length) yield* source.rangeChunks!(old.length + Math.max(start - head.length, 0), old.length + end - head.length, into);
    }),
    range: source.range && ((start, end) => {
      const fromHead = head.subarray(Math.min(start, head.length), Math.min(end, head.length));
      if (end <= head.length) return fromHead;
      const body = source.range!(old.length + Math.max(start - head.length, 0), old.length + end - head.length);
      return fromHead.length ? Buffer.concat([fromHead, body]) : body;
    }),
    dispose: () => source.dispose(),
  };
}

/** The file (from `start` to `end`) in `into`-sized reads on the thread pool, each a view of `into` (MessageSource.chunks). */
async function* readInto(path: string, into: Buffer, start = 0, end = Infinity): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  try {
    for (let at = start; at < end; ) {
      const { bytesRead } = await file.read(into, 0, Math.min(into.length, end - at), at);
      if (bytesRead === 0) return;
      at += bytesRead;
      yield into.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

/**
 * Octets of an open file from `start` to `end`, read synchronously (a test
 * is waiting for them; a body read this way is at most RANGE_LIMIT, a read
 * from the page cache).
 */
function readRange(fd: number, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(Math.max(0, end - start));
  let done = 0;
  while (done < out.length) {
    const n = readSync(fd, out, done, out.length - done, start + done);
    if (n === 0) break;
    done += n;
  }
  return done < out.length ? out.subarray(0, done) : out;
}

function bareLfs(octets: Buffer): number {
  const scan = new LineScan();
  scan.push(octets);
  return scan.bareLf;
}

/** Copy chunk size: big enough for few system calls, small enough that 100 copies at once stay small. */
export const COPY_CHUNK = 256 * 1024;

/**
 * Follows a message as it arrives: where its header section ends and how
 * many bare LFs it has (each becomes CRLF for Sieve, so Sieve's size is
 * known without reading the message again). The header section ends with
 * the first empty line (RFC 5322 2.1), an empty line being one with nothing
 * or a lone CR before its LF: where parseMessage finds it once every line
 * ends in CRLF.
 */
export class LineScan {
  /** Offset just past the empty line ending the header section; -1 until found. */
  headEnd = -1;
  bareLf = 0;
  private offset = 0;
  private prev = -1;
  /** Octets of the current line seen in earlier chunks. */
  private carried = 0;

  push(chunk: Buffer): void {
    let from = 0;
    for (;;) {
      const i = chunk.indexOf(0x0a, from);
      if (i < 0) break;
      const before = i > 0 ? chunk[i - 1]! : this.prev;
      if (before !== 0x0d) this.bareLf++;
      if (this.headEnd < 0) {
        const length = this.carried + i - from;
        if (length === 0 || (length === 1 && before === 0x0d)) this.headEnd = this.offset + i + 1;
      }
      this.carried = 0;
      from = i + 1;
    }
    this.carried += chunk.length - from;
    if (chunk.length) this.prev = chunk[chunk.length - 1]!;
    this.offset += chunk.length;
  }
}
