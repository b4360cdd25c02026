/**
 * The MIME part tree (RFC 2045, 2046) the body test (RFC 5173) and the
 * mime extensions (RFC 5703) read: content types, multipart preambles and
 * epilogues, embedded messages; a part's decoded text (transfer encoding
 * and charset undone) is mime-decode.ts. The structure comes from
 * mailsplit (mime-split.ts).
 */
import { libmime } from './libmime.js';
import { type HeaderField, type SieveMessage } from './message.js';
export { afterLoad } from './message.js';
import { type FoundPart, type SplitBudget, splitMime } from './mime-split.js';
import { type Octets, textOctets } from './octets.js';
import { SieveRuntimeFailure } from './signals.js';
import { nextTurn } from '../../next-turn.js';

export interface MimePart {
  headers: HeaderField[];
  /** "type/subtype" in lower case (RFC 2045 5.2 default text/plain). */
  type: string;
  params: Record<string, string>;
  /** The raw body of the part, CRLF line ends. */
  body: string;
  /** For multipart: the parts, and the text before the first and after the last boundary. */
  children: MimePart[];
  preamble: string;
  epilogue: string;
  /** For message/rfc822: the embedded message's header block and its parts. */
  embedded?: { header: string; root: MimePart };
  /** Nested deeper than MAX_MIME_DEPTH: its parts were not read. */
  tooDeep?: boolean;
  /**
   * When reading the part's body (`body`) or its preamble and epilogue
   * (`edges`) would read a file on the event loop (a large part of a
   * spooled message): a promise that brings the octets into memory first
   * (Octets.load); undefined when they are at hand. Tests wait for it
   * (afterLoad) before they read.
   */
  ready?(what: 'body' | 'edges'): Promise<void> | undefined;
  /**
   * The raw body (`body`) in pieces, read from where the host keeps it
   * without loading it (Octets.pieces): for a test that can read it as it
   * comes. Undefined when the body is at hand; then read `body`.
   */
  bodyPieces?(): AsyncIterable<string> | undefined;
}

/**
 * Parses `type/subtype; a=b; c="d"` (RFC 2045 5.1) with libmime's header
 * value parser: quoted strings (a `;` inside quotes is no separator), and
 * RFC 2231 parameters, continued (`name*0`, `name*1`) and percent-encoded
 * with their charset (`name*=utf-8''%C3%A4`). Names are lower case; of a
 * parameter given twice the first counts.
 */
export function parseContentType(value: string | undefined, fallback: string): { type: string; params: Record<string, string> } {
  if (!value) return { type: fallback, params: {} };
  const parsed = libmime().parseHeaderValue(value);
  // A malformed type is kept as written: it matches no :content or :text selection.
  return { type: parsed.value.trim().toLowerCase(), params: parsed.params as Record<string, string> };
}

/**
 * parseContentType for a part of the tree: parts mostly repeat a few
 * Content-Type values, and the tree keeps every part's type as long as it
 * lives, so short values share one frozen result (as their header fields
 * do, mime-heads.ts headerFields). Nothing changes a part's parameters.
 */
function sharedContentType(value: string | undefined, fallback: string): { type: string; params: Record<string, string> } {
  if (!value || value.length > SHARED_TYPE) return parseContentType(value, fallback);
  const key = `${fallback} ${value}`;
  let t = sharedTypes.get(key);
  if (!t) {
    if (sharedTypes.size >= SHARED_TYPES) sharedTypes.clear();
    const parsed = parseContentType(value, fallback);
    t = { type: parsed.type, params: Object.freeze(parsed.params) };
    sharedTypes.set(key, t);
  }
  return t;
}
const SHARED_TYPE = 256;
const SHARED_TYPES = 256;
const sharedTypes = new Map<string, { type: string; params: Record<string, string> }>();

/** The value of the first field of that name (lower case), trimmed. */
export const header = (hs: HeaderField[], name: string) => hs.find((h) => h.lname === name)?.value.trim();

/** Nesting past this many levels of multipart or message/rfc822 is not parsed (the stack stays bounded). */
export const MAX_MIME_DEPTH = 20;

const NO_CHILDREN: MimePart[] = Object.freeze([]) as unknown as MimePart[];
const NO_PARAMS: Record<string, string> = Object.freeze({});

const emptyPart = (container: FoundPart): FoundPart => {
  const at = Math.max(container.bodyStart, container.end);
  return { start: at, bodyStart: at, end: at, headers: [], boundary: undefined, parent: container, embedded: true, children: [], message: undefined, closed: false };
};

/**
 * A part of the tree: what the splitter found (mime-split.ts), with its
 * type and parameters; its body, preamble and epilogue are read from the
 * message's octets when a test asks, so the tree itself holds no bodies.
 */
class TreePart implements MimePart {
  headers: HeaderField[];
  type = '';
  params: Record<string, string> = NO_PARAMS;
  /** Shared and empty until the first child is made: most parts are leaves. */
  children: MimePart[] = NO_CHILDREN;
  embedded?: { header: string; root: MimePart };
  tooDeep?: boolean;
  /** Whether buildTree has been past the embedded message (made it, or found there is none). */
  private embeddedDone = false;

  /** Made by buildTree, one a step: a multipart of many parts does not make them all at once. */
  constructor(
    private readonly found: FoundPart,
    private readonly octets: Octets,
    private readonly fallback: string,
  ) {
    this.headers = found.headers;
  }

  /** Reads the part's Content-Type (buildTree does this for every part as it makes it). */
  settle(): void {
    const found = this.found;
    ({ type: this.type, params: this.params } = sharedContentType(header(found.headers, 'content-type'), this.fallback));
    // A part the reader does not open must not pass for a leaf: a body test would miss what it holds.
    if (found.closed && ((this.type.startsWith('multipart/') && this.params.boundary) || this.type === 'message/rfc822')) this.tooDeep = true;
  }

  /**
   * Makes the next part directly inside this one, settled: its children in
   * order, then its embedded message; undefined once all are made.
   */
  makeNext(): TreePart | undefined {
    const found = this.found;
    if (found.closed) return undefined;
    const i = this.children.length;
    if (i < found.children.length) {
      const child = new TreePart(found.children[i]!, this.octets, this.type === 'multipart/digest' ? 'message/rfc822' : 'text/plain');
      child.settle();
      if (this.children === NO_CHILDREN) this.children = [];
      this.children.push(child);
      return child;
    }
    if (this.embeddedDone) return undefined;
    this.embeddedDone = true;
    // A message/rfc822 part that ends within its header section holds an empty message.
    const m = found.message ?? (this.type === 'message/rfc822' ? emptyPart(found) : undefined);
    if (!m) return undefined;
    const head = this.text(m.start, Math.min(m.bodyStart, m.end));
    const root = new TreePart(m, this.octets, 'text/plain');
    root.settle();
    this.embedded = { header: head.endsWith('\r\n\r\n') ? head.slice(0, -2) : head === '\r\n' ? '' : head, root };
    return root;
  }

  /** The load the next makeNext needs first: an embedded message's header section past what is read by range. */
  nextLoad(): Promise<void> | undefined {
    const found = this.found;
    if (found.closed || this.children.length < found.children.length || this.embeddedDone) return undefined;
    const m = found.message;
    return m ? this.octets.load?.(m.start, Math.min(m.bodyStart, m.end)) : undefined;
  }

  ready(what: 'body' | 'edges'): Promise<void> | undefined {
    const load = this.octets.load;
    if (!load) return undefined;
    const found = this.found;
    const first = found.children[0];
    const last = found.children.at(-1);
    if (what === 'body' || !first || !last) return load(found.bodyStart, found.end);
    return load(found.bodyStart, first.start) ?? load(last.end, found.end);
  }

  bodyPieces(): AsyncIterable<string> | undefined {
    return this.octets.pieces?.(this.found.bodyStart, this.found.end);
  }

  private text(start: number, end: number): string {
    const t = this.octets.text(start, end);
    return this.octets.bareLf ? t.replace(/\r?\n/g, '\r\n') : t;
  }

  /** The raw body of the part, CRLF line ends: empty when the part has no empty line after its header. */
  get body(): string {
    return this.text(this.found.bodyStart, this.found.end);
  }

  /** The text before the first delimiter line, without the line break that belongs to it. */
  get preamble(): string {
    const first = this.found.children[0];
    if (!first) return this.unsplit().preamble;
    const t = this.text(this.found.bodyStart, first.start);
    const i = t.lastIndexOf('\n', t.length - 2);
    return i < 0 ? '' : t.slice(0, t[i - 1] === '\r' ? i - 1 : i);
  }

  /** The text after the closing delimiter line; empty when there is none. */
  get epilogue(): string {
    const last = this.found.children.at(-1);
    if (!last) return this.unsplit().epilogue;
    const after = this.text(last.end, this.found.end).replace(/^\r?\n/, '');
    const eol = after.indexOf('\n');
    const line = (eol < 0 ? after : after.slice(0, eol)).replace(/[ \t\r]+$/, '');
    return line === `--${this.found.boundary}--` && eol >= 0 ? after.slice(eol + 1) : '';
  }

  /** A multipart without parts: everything before its closing delimiter line is preamble, everything after it epilogue. */
  private unsplit(): { preamble: string; epilogue: string } {
    const boundary = this.found.boundary;
    if (!this.type.startsWith('multipart/') || !boundary) return { preamble: '', epilogue: '' };
    const lines = this.body.split('\r\n');
    const close = lines.findIndex((l) => l.replace(/[ \t]+$/, '') === `--${boundary}--`);
    if (close < 0) return { preamble: lines.join('\r\n'), epilogue: '' };
    return { preamble: lines.slice(0, close).join('\r\n'), epilogue: lines.slice(close + 1).join('\r\n') };
  }
}

/** Every part, depth first, including multipart containers and embedded messages' parts. */
export function walkParts(p: MimePart): Iterable<MimePart> {
  return inOrder.get(p) ?? walk(p);
}

function* walk(p: MimePart): Generator<MimePart> {
  yield p;
  for (const c of p.children) yield* walk(c);
  if (p.embedded) yield* walk(p.embedded.root);
}

/**
 * Every part of a tree, by its root, in walkParts' order: buildTree makes
 * the parts in that order and keeps the list, so a loop over every part
 * (foreverypart, the body test) of a message of many parts does not walk
 * a generator per part in one step.
 */
const inOrder = new WeakMap<MimePart, readonly MimePart[]>();

// One MIME parse per message, however many tests read it.
const trees = new WeakMap<SieveMessage, MimePart>();
const reading = new WeakMap<SieveMessage, Promise<MimePart>>();

/** What reading the tree needs of the run's budget (cpu-budget.ts CpuBudget). */
export type MimeBudget = SplitBudget;

/**
 * Reads the message's part tree, once: the splitter (mime-split.ts) goes
 * through the message 4 KiB at a time and lets the event loop run between
 * chunks, in any run, so a message of very many parts does not hold up
 * other sessions; the budget counts only while it computes.
 */
function readTree(msg: SieveMessage, budget?: MimeBudget): Promise<MimePart> {
  let p = reading.get(msg);
  if (!p) {
    const octets = messageOctets(msg);
    p = splitMime(octets, MAX_MIME_DEPTH, budget).then(
      async (found) => {
        const tree = await buildTree(found, octets, budget);
        trees.set(msg, tree);
        return tree;
      },
      (e: unknown) => {
        reading.delete(msg);
        throw e;
      },
    );
    reading.set(msg, p);
  }
  return p;
}

/** The octets of a message: the host's when it keeps them (a spooled message is then not read whole), else its text's. */
function messageOctets(msg: SieveMessage): Octets {
  return msg.octets?.() ?? textOctets(msg.raw);
}

/** The message's part tree, read if need be (mimeTree's checks apply). */
export async function readMimeTree(msg: SieveMessage, budget?: MimeBudget): Promise<MimePart> {
  await readTree(msg, budget);
  return mimeTree(msg);
}

/** The message's part tree when it has been read, else undefined (no check: for a reader that only quotes parts). */
export function mimeTreeAtHand(msg: SieveMessage): MimePart | undefined {
  return trees.get(msg);
}

/** A test that reads MIME parts: the part tree first, then the test again; undefined when the tree is at hand. */
export function afterMimeTree<T>(msg: SieveMessage, budget: MimeBudget, again: () => T | Promise<T>): Promise<T> | undefined {
  if (trees.has(msg)) return undefined;
  return readTree(msg, budget).then(again);
}

/**
 * The message's part tree, which a test has read first (afterMimeTree). A
 * message nested past MAX_MIME_DEPTH is a runtime error for whatever test
 * asked: a silent miss would let a sender hide content from body and MIME
 * tests by nesting it deep.
 */
export function mimeTree(msg: SieveMessage): MimePart {
  const p = trees.get(msg);
  if (!p) throw new Error('mimeTree: the part tree is read first (afterMimeTree, readMimeTree)');
  if (nestedTooDeep.has(p)) throw new SieveRuntimeFailure(`the message nests MIME parts deeper than ${MAX_MIME_DEPTH} levels; its content cannot be tested`);
  return p;
}

/** The trees (by their root) with a part nested past MAX_MIME_DEPTH: buildTree notes it as it goes. */
const nestedTooDeep = new WeakSet<MimePart>();

/** How long tree building runs before it lets the event loop go (the interpreter's slice, docs/sieve-interpreter.md). */
const BUILD_SLICE_MS = 2;

/**
 * Makes the part tree from what the splitter found, a slice at a time: a
 * message of a hundred thousand parts is as many Content-Type fields to
 * parse, which at once would hold every other session for a second. The
 * budget counts while it builds, not while others run. Whether any part is
 * nested too deep is noted on the way, so mimeTree need not walk the tree.
 */
async function buildTree(found: FoundPart, octets: Octets, budget: MimeBudget | undefined): Promise<TreePart> {
  const root = new TreePart(found, octets, 'text/plain');
  root.settle();
  let anyTooDeep = !!root.tooDeep;
  const order: MimePart[] = [root];
  /** The parts whose insides are being made, innermost last: depth first, so parts are made in walkParts' order. */
  const making: TreePart[] = [root];
  let sliceStart = performance.now();
  let n = 0;
  while (making.length) {
    const wait = making[making.length - 1]!.nextLoad();
    if (wait) {
      budget?.suspend();
      await wait.finally(() => budget?.resume());
    }
    const part = making[making.length - 1]!.makeNext();
    if (!part) {
      making.pop();
      continue;
    }
    if (part.tooDeep) anyTooDeep = true;
    order.push(part);
    making.push(part);
    budget?.charge(128);
    if ((++n & 63) === 0 && performance.now() - sliceStart >= BUILD_SLICE_MS) {
      budget?.suspend(true);
      await nextTurn();
      budget?.resume();
      sliceStart = performance.now();
    }
  }
  if (anyTooDeep) nestedTooDeep.add(root);
  inOrder.set(root, order);
  return root;
}
