/**
 * The adapter over mailsplit's MessageSplitter that splitMime
 * (mime-split.ts) drives a chunk at a time. mailsplit is made for
 * rewriting mail, and its choices differ from what Sieve needs (RFC 5173 5,
 * RFC 5703 3) in these places; a small subclass adapts them
 * (docs/sieve-interpreter.md, "The MIME reader"):
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
import type { Transform } from 'node:stream';
import type { MimeNode, SplitterChunk, SplitterOptions } from '@zone-eu/mailsplit/lib/types.js';
import { SHARED_HEAD, SHARED_HEADS } from './mime-heads.js';
import type { FoundPart, SplitBudget } from './mime-split.js';

const HEAD = 1; // mailsplit's state while it reads a header section

/** What the adapter keeps on mailsplit's nodes: the part a node became (or, inside a part the tree does not open, that part), and its depth. */
export interface SieveNode extends MimeNode {
  found?: FoundPart;
  depth?: number;
}

/** The internals of mailsplit's MessageSplitter (5.4) that the adapter below relies on; test/sieve/runtime/mime-split.test.ts checks them. */
interface SplitterInternals {
  node: SieveNode;
  state: number;
  newNode(parent?: MimeNode | false): void;
  processLine(line: Buffer | false, final: boolean, next: (err?: Error | null, data?: unknown, flush?: boolean) => void): void;
  push(chunk: unknown): boolean;
  inEpilogue: boolean;
  checkBoundary(line: Buffer): number | false;
  _transform(chunk: Buffer, encoding: BufferEncoding, callback: (err?: Error | null) => void): void;
  _flush(callback: (err?: Error | null) => void): void;
}

/** The adapter's own: where what the splitter finds goes, and the budget it charges. */
interface Driven {
  /** Gets every node and every body or data chunk, as mailsplit pushes them. */
  found: (chunk: SplitterChunk) => void;
  budget: SplitBudget | undefined;
  /** Splits one chunk of the message: settles once mailsplit is done with it. */
  feed(chunk: Buffer): Promise<void>;
  /** The end of the message: what is still pending is split. */
  finish(): Promise<void>;
}

type BaseClass = new (config?: SplitterOptions) => Transform & SplitterInternals;
type SplitterClass = new (config?: SplitterOptions) => Transform & SplitterInternals & Driven;
let SieveSplitter: SplitterClass | undefined;

/** What mailsplit's MimeNode.parseHeaders (5.4) sets from a header section alone, besides the part number. */
const PARSED_FIELDS = ['headers', '_parsedContentDisposition', '_parsedContentType', 'encoding', 'contentType', 'charset', 'disposition', 'filename', 'flowed', 'delSp', 'multipart', '_boundary', 'rfc822'] as const;
type NodeFields = Record<(typeof PARSED_FIELDS)[number], unknown> & { _headersLines: Buffer[]; _headerlen: number; partNr: unknown };
/** What mailsplit made of header sections seen before, by their text (any message's: the same text gives the same fields). */
const parsedHeads = new Map<string, Record<string, unknown>>();

const NO_PART_NUMBER: never[] = [];
/** IMAP part numbers, which mailsplit works out for every part (two arrays each); the tree does not use them. */
function noPartNumber(): never[] {
  return NO_PART_NUMBER;
}

/** mailsplit, loaded on first use (compiling a script needs none of it), with the adapter on top. */
export function splitterClass(): SplitterClass {
  if (SieveSplitter) return SieveSplitter;
  const require = createRequire(import.meta.url);
  const Splitter = require('@zone-eu/mailsplit/lib/message-splitter') as BaseClass;
  const parse = (require('@zone-eu/mailsplit/lib/mime-node') as { prototype: { parseHeaders(this: MimeNode): void } }).prototype.parseHeaders;
  /**
   * mailsplit's header parsing, then the adapter's two changes. One
   * function for every node: a closure per node would be garbage per part.
   * A part whose header section is short and one seen before takes what
   * mailsplit made of it then (PARSED_FIELDS, none of which the splitter
   * changes afterwards): parsing a header section is most of mailsplit's
   * work and garbage per part (a Headers object, two libmime instances,
   * two parameter parses), and a message of many parts mostly repeats a
   * few header sections.
   */
  function parseHeaders(this: MimeNode & NodeFields): void {
    if (this.headers) return;
    const lines = this._headersLines;
    if (this.parentNode && this._headerlen <= SHARED_HEAD) {
      const key = (lines.length === 1 ? lines[0]! : Buffer.concat(lines, this._headerlen)).toString('latin1');
      const seen = parsedHeads.get(key);
      if (seen) {
        Object.assign(this, seen);
        this._headersLines = [];
        this.partNr = NO_PART_NUMBER;
      } else {
        parse.call(this);
        if (parsedHeads.size >= SHARED_HEADS) parsedHeads.clear();
        const fields: Record<string, unknown> = {};
        for (const f of PARSED_FIELDS) fields[f] = this[f];
        parsedHeads.set(key, fields);
      }
    } else parse.call(this);
    const parent = this.parentNode;
    const headers = this.headers as unknown as { get(key: string): unknown[] };
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
  }
  SieveSplitter = class extends Splitter {
    override newNode(parent?: MimeNode | false): void {
      super.newNode(parent);
      const node = this.node as MimeNode & { parseHeaders(): void; getPartNr(): never[] };
      node.parseHeaders = parseHeaders;
      node.getPartNr = noPartNumber;
    }

    found: (chunk: SplitterChunk) => void = () => {};
    budget: SplitBudget | undefined;
    /** What stopped the reading (the budget, charged in found): the splitter is told at its next line, and feed rejects with it. */
    private failure: unknown;

    /*
     * mailsplit is a stream, but here it is driven a chunk at a time
     * without one: what it pushes goes straight to found(), with no stream
     * buffers, queued callbacks or objects per part in between. Its
     * _transform lets the event loop go once before it splits the chunk
     * (a setImmediate): that wait is the only time not charged to the
     * budget. Everything else from the first chunk to the end of the
     * message, including what runs between chunks, is the script's work.
     */
    feed(chunk: Buffer): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        this._transform(chunk, 'buffer' as BufferEncoding, (err) => this.settle(err, resolve, reject));
        this.budget?.suspend(true);
      });
    }

    finish(): Promise<void> {
      return new Promise<void>((resolve, reject) => this._flush((err) => this.settle(err, resolve, reject)));
    }

    private settle(err: Error | null | undefined, resolve: () => void, reject: (e: unknown) => void): void {
      this.budget?.resume();
      if (this.failure !== undefined || err) reject(this.failure ?? err);
      else resolve();
    }

    override push(chunk: unknown): boolean {
      if (this.failure !== undefined) return false;
      try {
        this.found(chunk as SplitterChunk);
      } catch (e) {
        this.failure = e;
      }
      return true;
    }

    /** The line being processed: the node before it, and whether that node was still in its header section. */
    private before: MimeNode | undefined;
    private inHead = false;
    /** mailsplit's line callback (one per chunk) and the adapter's around it: one closure per chunk, not per line. */
    private next: ((err?: Error | null, data?: unknown, flush?: boolean) => void) | undefined;
    private adapted: ((err?: Error | null, data?: unknown, flush?: boolean) => void) | undefined;

    override processLine(line: Buffer | false, final: boolean, next: (err?: Error | null, data?: unknown, flush?: boolean) => void): void {
      // The wait before the chunk is over: the splitter computes.
      this.budget?.resume();
      if (this.failure !== undefined) {
        next(this.failure as Error);
        return;
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

/** The options the splitter is made with: no limit on parts or header size (the run's budget bounds the work). */
export const NO_LIMIT: SplitterOptions = { maxHeadSize: Infinity, maxChildNodes: Infinity, defaultInlineEmbedded: true };
