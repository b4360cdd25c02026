/**
 * Finds the MIME structure of a message (RFC 2045, 2046) with mailsplit,
 * the streaming splitter mailparser is built on: part boundaries, the
 * header section of every part, nesting (multipart/*, message/rfc822) and
 * the byte range of every body. The message goes through in chunks, and a
 * part's body is read from its octets only when a test asks for it.
 *
 * mailsplit is made for rewriting mail, and its choices differ from what
 * Sieve needs (RFC 5173 5, RFC 5703 3) in these places; a small subclass
 * adapts them (docs/sieve-interpreter.md, "The MIME reader"):
 * - an embedded message/rfc822 is opened whatever its disposition and
 *   transfer encoding (mailsplit opens only inline ones), and a part of a
 *   multipart/digest without a Content-Type is one (RFC 2046 5.1.5);
 * - a part with a header section and no body, ended by the delimiter of
 *   its multipart, is a part (mailsplit drops it unless the delimiter is
 *   the closing one);
 * - a closing delimiter before the first part closes the multipart, as
 *   after the last (mailsplit would still open parts after it);
 * - every chunk belongs to the part it is given with: the closing delimiter
 *   of an outer multipart is not joined to the epilogue of an inner one;
 * - no limit on parts or header size: the run's CPU budget bounds the work,
 *   and it counts while the splitter computes (its _transform and _flush).
 */
import { createRequire } from 'node:module';
import { Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MimeNode, SplitterChunk, SplitterOptions } from '@zone-eu/mailsplit/lib/types.js';
import { type HeaderField, parseMessage } from './message.js';

/**
 * A message's octets: given to the splitter in chunks; a part's text is
 * read by range when a test asks. Offsets are in octets.
 */
export interface Octets {
  readonly length: number;
  chunks(): Iterable<Buffer> | AsyncIterable<Buffer>;
  /** The text (UTF-8) of the octets from `start` to `end`, line ends as they are. */
  text(start: number, end: number): string;
  /** True when some line ends in a bare LF: a part's text then gets CRLF, as the message's does (parseMessage). */
  readonly bareLf?: boolean;
}

/**
 * The octets of a message a host keeps (a spool file, a Buffer): read in
 * chunks for the splitter and by range for a body, never whole.
 */
export function hostOctets(length: number, chunks: () => AsyncIterable<Buffer> | Iterable<Buffer>, range: (start: number, end: number) => Buffer, bareLf: boolean): Octets {
  return {
    length,
    bareLf,
    async *chunks() {
      for await (const c of chunks()) for (let i = 0; i < c.length; i += CHUNK) yield c.subarray(i, i + CHUNK);
    },
    text: (start, end) => (end > start ? range(start, end).toString('utf8') : ''),
  };
}

/**
 * Octets the splitter gets at a time: mailsplit splits each chunk in one
 * turn of the event loop (at most its YIELD_BYTES, 16 KiB), so one chunk is
 * one stretch of its work, which the budget is charged for (splitMime). A
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

/**
 * What the splitter needs of the run's budget (runtime.ts CpuBudget): it
 * counts while the splitter computes, not while other sessions run between
 * its chunks, and charge() throws once it is spent.
 */
export interface SplitBudget {
  charge(units: number): void;
  suspend(): void;
  resume(): void;
}

/** What a part found in the message needs to know to become a node of the tree. */
export interface FoundPart {
  /** Octet offsets: where its header section starts, where its body starts, where the part ends. */
  start: number;
  bodyStart: number;
  end: number;
  headers: HeaderField[];
  /** The boundary mailsplit split its parts by, when it did. */
  boundary: string | undefined;
  parent: FoundPart | undefined;
  /** True for the message inside a message/rfc822 part (the parent). */
  embedded: boolean;
  children: FoundPart[];
  /** The embedded message of a message/rfc822 part. */
  message: FoundPart | undefined;
  /** A part the splitter opened although the tree does not (past the depth limit): its parts count as its body. */
  closed: boolean;
}

const HEAD = 1; // mailsplit's state while it reads a header section

/** The internals of mailsplit's MessageSplitter (5.4) that the adapter below relies on; test/sieve/runtime/mime-split.test.ts checks them. */
interface SplitterInternals {
  node: MimeNode;
  state: number;
  newNode(parent?: MimeNode | false): void;
  processLine(line: Buffer | false, final: boolean, next: (err?: Error | null, data?: unknown, flush?: boolean) => void): void;
  push(chunk: unknown): boolean;
  inEpilogue: boolean;
  checkBoundary(line: Buffer): number | false;
  _transform(chunk: Buffer, encoding: BufferEncoding, callback: (err?: Error | null) => void): void;
  _flush(callback: (err?: Error | null) => void): void;
}

/** The adapter's own: the budget it charges for the stretches the splitter computes. */
interface Charged {
  budget: SplitBudget | undefined;
}

type BaseClass = new (config?: SplitterOptions) => Transform & SplitterInternals;
type SplitterClass = new (config?: SplitterOptions) => Transform & SplitterInternals & Charged;
let SieveSplitter: SplitterClass | undefined;

/** mailsplit, loaded on first use (compiling a script needs none of it), with the adapter on top. */
function splitterClass(): SplitterClass {
  if (SieveSplitter) return SieveSplitter;
  const Splitter = createRequire(import.meta.url)('@zone-eu/mailsplit/lib/message-splitter') as BaseClass;
  SieveSplitter = class extends Splitter {
    override newNode(parent?: MimeNode | false): void {
      super.newNode(parent);
      const node = this.node;
      const parse = node.parseHeaders;
      node.parseHeaders = function (this: MimeNode) {
        parse.call(this);
        const headers = this.headers as { get(key: string): unknown[] };
        // RFC 2046 5.1.5: in a digest, a part without a Content-Type is a message.
        if (parent && parent.multipart === 'digest' && headers.get('Content-Type').length === 0) {
          this.contentType = 'message/rfc822';
          this.rfc822 = true;
        }
        // RFC 5173 5 and RFC 5703 3 look into every embedded message, attached or not.
        if (this.contentType === 'message/rfc822') {
          this.disposition = 'inline';
          this.encoding = false;
        }
      };
    }

    budget: SplitBudget | undefined;
    private computing = false;

    /*
     * The budget counts while the splitter computes: from the first line of
     * a chunk to the end of it (a chunk of CHUNK octets is split in one go,
     * then the callback says so). Between chunks other sessions run, and do
     * not count.
     */
    override _transform(chunk: Buffer, encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
      super._transform(chunk, encoding, (err) => {
        this.stop();
        callback(err);
      });
    }

    override _flush(callback: (err?: Error | null) => void): void {
      super._flush((err) => {
        this.stop();
        callback(err);
      });
    }

    private stop(): void {
      if (!this.computing) return;
      this.computing = false;
      this.budget?.suspend();
    }

    /** The line being processed: the node before it, and whether that node was still in its header section. */
    private before: MimeNode | undefined;
    private inHead = false;
    /** mailsplit's line callback (one per chunk) and the adapter's around it: one closure per chunk, not per line. */
    private next: ((err?: Error | null, data?: unknown, flush?: boolean) => void) | undefined;
    private adapted: ((err?: Error | null, data?: unknown, flush?: boolean) => void) | undefined;

    override processLine(line: Buffer | false, final: boolean, next: (err?: Error | null, data?: unknown, flush?: boolean) => void): void {
      if (!this.computing) {
        this.computing = true;
        this.budget?.resume();
      }
      this.before = this.node;
      this.inHead = this.state === HEAD && !this.node.headers;
      if (this.next !== next) {
        this.next = next;
        this.adapted = (err, data, flush) => this.afterLine(next, err, data, flush);
      }
      // mailsplit calls back before processLine returns, so `before` and `inHead` are this line's.
      super.processLine(line, final, this.adapted!);
    }

    private afterLine(next: (err?: Error | null, data?: unknown, flush?: boolean) => void, err: Error | null | undefined, data: unknown, flush: boolean | undefined): void {
      const before = this.before!;
      // A delimiter ended a part still in its header section: the part is there, with no body.
      if (!err && this.inHead && this.node !== before && !before.headers) {
        before.parseHeaders();
        this.push(before);
      }
      // A closing delimiter of an outer multipart after the epilogue of an inner one: mailsplit
      // would join the two lines in one chunk of the inner part; they belong to different parts.
      const crosses = !err && this.node !== before && (data as { type?: string } | undefined)?.type === 'data';
      // A closing delimiter before any part ends the multipart too (RFC 2046 5.1.1): what follows is epilogue.
      const value = (data as { value?: Buffer } | undefined)?.value;
      if (!err && this.node === before && before._boundary && !this.inEpilogue && value && this.checkBoundary(value) === 2) this.inEpilogue = true;
      next(err, data, flush || crosses);
    }
  };
  return SieveSplitter;
}

const NO_LIMIT: SplitterOptions = { maxHeadSize: Infinity, maxChildNodes: Infinity, defaultInlineEmbedded: true };

/**
 * Splits the message into its parts. Nodes nested deeper than `maxDepth`
 * are not opened (their parts count as their body). The splitter works a
 * chunk of CHUNK octets per turn of the event loop, so other sessions run
 * between chunks (the time slices a run keeps, docs/sieve-interpreter.md);
 * the budget counts while it computes and is charged by the octets and by
 * the part, so a run stops within its budget while reading.
 */
export async function splitMime(octets: Octets, maxDepth: number, budget?: SplitBudget): Promise<FoundPart> {
  const parts = new Map<MimeNode, FoundPart>();
  const depths = new Map<FoundPart, number>();
  /** The parts that contain the current offset, outermost first. */
  const open: FoundPart[] = [];
  let offset = 0;
  let root: FoundPart | undefined;
  /*
   * The two octets before `offset` (-1: none yet), and the parts closed at
   * `offset` whose end waits for the octet there: where a part's text ends
   * depends on the octets around it (partEnd), and they are taken here, as
   * they pass, because reading them back from a spooled message would be a
   * file read per part.
   */
  let before1 = -1;
  let before2 = -1;
  let closing: FoundPart[] = [];
  /** Closes every open part inside `part`: they end where something of `part` (or outside it) begins. */
  const reach = (part: FoundPart | undefined) => {
    if (part && !open.includes(part)) return;
    while (open.length && open[open.length - 1] !== part) {
      const p = open.pop()!;
      p.end = offset;
      closing.push(p);
    }
  };
  /** The octets of the next chunk (or none: the end of the message) are here: the parts closed before them get their ends. */
  const passed = (bytes: Buffer | undefined) => {
    if (closing.length && (!bytes || bytes.length > 0)) {
      const at = bytes ? bytes[0]! : -1;
      for (const p of closing) p.end = partEnd(p, octets.length, at, before1, before2);
      closing = [];
    }
    if (!bytes || bytes.length === 0) return;
    before2 = bytes.length >= 2 ? bytes[bytes.length - 2]! : before1;
    before1 = bytes[bytes.length - 1]!;
  };
  const partOf = (node: MimeNode): FoundPart | undefined => parts.get(node) ?? (node.parentNode ? partOf(node.parentNode) : undefined);
  const take = (chunk: SplitterChunk) => {
    if (chunk.type === 'node') {
      const node = chunk as MimeNode;
      const head = node.getHeaders();
      const parent = node.parentNode ? partOf(node.parentNode) : undefined;
      budget?.charge(head.length + 256);
      reach(parent);
      passed(head);
      const depth = parent ? depths.get(parent)! + 1 : 0;
      if (parent && parent.closed) {
        // Inside a part the tree does not open: its octets are that part's body.
        parts.set(node, parent);
        offset += head.length;
        return;
      }
      const part: FoundPart = {
        start: offset,
        bodyStart: offset + head.length,
        end: -1,
        headers: parseMessage(head.toString('utf8')).headers,
        boundary: node._boundary ? node._boundary.toString('latin1') : undefined,
        parent,
        embedded: !!parent && node.parentNode !== false && node.parentNode.messageNode === true,
        children: [],
        message: undefined,
        closed: depth > maxDepth,
      };
      offset += head.length;
      parts.set(node, part);
      depths.set(part, depth);
      if (!parent) root = part;
      else if (part.embedded) parent.message = part;
      else parent.children.push(part);
      open.push(part);
      return;
    }
    const value = (chunk as { value: Buffer }).value;
    budget?.charge(value.length);
    reach(partOf((chunk as { node: MimeNode }).node));
    passed(value);
    offset += value.length;
  };
  const splitter = new (splitterClass())(NO_LIMIT);
  splitter.budget = budget;
  /** What stopped the reading (the budget): pipeline would report only that it aborted the streams. */
  let failure: unknown;
  const sink = new Writable({
    objectMode: true,
    write(chunk: SplitterChunk, _encoding, done) {
      try {
        // Normally inside a stretch of the splitter's work, and so counted already.
        budget?.resume();
        take(chunk);
        done();
      } catch (e) {
        failure = e;
        done(e as Error);
      }
    },
  });
  budget?.suspend();
  try {
    await pipeline(Readable.from(octets.chunks()), splitter, sink);
  } catch (e) {
    throw failure ?? e;
  } finally {
    budget?.resume();
  }
  reach(undefined);
  passed(undefined);
  if (!root) throw new Error('mailsplit found no message');
  return root;
}

/**
 * Where a part's text ends: a part ended by a delimiter line does not
 * include the line break before it (RFC 2046 5.1.1, "the CRLF preceding
 * the boundary delimiter line is conceptually attached to the boundary").
 * mailsplit gives that line break to the delimiter after a body, but leaves
 * it in the epilogue of a multipart or the last header line of a part
 * without a body.
 */
function partEnd(part: FoundPart, length: number, at: number, before1: number, before2: number): number {
  const end = part.end;
  if (end >= length) return length;
  if (at === CR || at === LF) return end;
  if (end - 1 >= part.start && before1 === LF) return end - 2 >= part.start && before2 === CR ? end - 2 : end - 1;
  return end;
}

const CR = 0x0d;
const LF = 0x0a;
