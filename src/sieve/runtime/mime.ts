/**
 * A small MIME reader (RFC 2045, 2046) for the body test (RFC 5173): the
 * part tree with content types, multipart preambles and epilogues, and
 * decoded text (transfer encoding and charset undone).
 */
import { libmime } from './libmime.js';
import { type HeaderField, parseMessage, type SieveMessage } from './message.js';
import { SieveRuntimeFailure } from './runtime.js';

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

const header = (hs: HeaderField[], name: string) => hs.find((h) => h.lname === name)?.value.trim();

/** Nesting past this many levels of multipart or message/rfc822 is not parsed (the stack stays bounded). */
export const MAX_MIME_DEPTH = 20;

/** A run's CPU budget (runtime.ts CpuBudget): charge() throws when it is spent. */
export interface Charge {
  charge(units: number): void;
}

/**
 * Parses a whole message (or part) text into the part tree; `depth` bounds
 * nesting. A message of many parts takes long to read: each part is charged
 * by its size, so that reading stops at the run's budget.
 */
export function parseMime(raw: string, fallback = 'text/plain', depth = 0, charge?: Charge): MimePart {
  const steps = mimeSteps(raw, fallback, depth, charge);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The reader as a generator that pauses after every part it reads: a
 * time-sliced run (mimeTreeSliced) lets the event loop go between parts,
 * so a message of very many parts does not hold up other sessions.
 */
function* mimeSteps(raw: string, fallback: string, depth: number, charge: Charge | undefined): Generator<void, MimePart> {
  charge?.charge(raw.length + 256);
  const m = parseMessage(raw);
  const { type, params } = parseContentType(header(m.headers, 'content-type'), fallback);
  const part: MimePart = { headers: m.headers, type, params, body: m.body, children: [], preamble: '', epilogue: '' };
  if (depth > MAX_MIME_DEPTH) {
    // A part the reader does not open must not pass for a leaf: a body test would miss what it holds.
    if ((type.startsWith('multipart/') && params.boundary) || type === 'message/rfc822') part.tooDeep = true;
    return part;
  }
  if (type.startsWith('multipart/') && params.boundary) {
    const delim = `--${params.boundary}`;
    let current: string[] | null = null;
    const pre: string[] = [];
    const post: string[] = [];
    let closed = false;
    const childFallback = type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    let n = 0;
    for (const line of lines(m.body)) {
      // A long body: read the clock now and then, and let a sliced run pause (mimeTreeSliced).
      if ((++n & 1023) === 0) {
        charge?.charge(LINES_UNITS);
        yield;
      }
      // Boundary lines may carry trailing white space (RFC 2046 5.1.1); most lines have none.
      const lastChar = line.charCodeAt(line.length - 1);
      const l = lastChar === 32 || lastChar === 9 ? line.replace(/[ \t]+$/, '') : line;
      if (!closed && l === `${delim}--`) {
        if (current) part.children.push(yield* mimeSteps(current.join('\r\n'), childFallback, depth + 1, charge));
        current = null;
        closed = true;
      } else if (!closed && l === delim) {
        if (current) part.children.push(yield* mimeSteps(current.join('\r\n'), childFallback, depth + 1, charge));
        current = [];
      } else if (closed) post.push(line);
      else if (current) current.push(line);
      else pre.push(line);
    }
    if (current) part.children.push(yield* mimeSteps(current.join('\r\n'), childFallback, depth + 1, charge));
    part.preamble = pre.join('\r\n');
    part.epilogue = post.join('\r\n');
  } else if (type === 'message/rfc822') {
    const end = m.body.indexOf('\r\n\r\n');
    part.embedded = { header: end < 0 ? m.body : m.body.slice(0, end + 2), root: yield* mimeSteps(m.body, 'text/plain', depth + 1, charge) };
  }
  yield;
  return part;
}

/** What 1,024 lines of a multipart body count against the budget: enough that the clock is read. */
const LINES_UNITS = 8192;

/** The CRLF-separated lines of a text, as split('\r\n') gives them, without building the whole array at once. */
function* lines(text: string): Generator<string> {
  let from = 0;
  for (let i = text.indexOf('\r\n'); i >= 0; i = text.indexOf('\r\n', from)) {
    yield text.slice(from, i);
    from = i + 2;
  }
  yield text.slice(from);
}

/** RFC 2045 6.7. */
function decodeQuotedPrintable(s: string): Buffer {
  const bytes: number[] = [];
  const text = s.replace(/=\r\n/g, '');
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(c));
  }
  return Buffer.from(bytes);
}

/** The body's octets with the transfer encoding (RFC 2045 6) undone; null when the encoding is unknown. */
export function decodedBytes(part: MimePart): Buffer | null {
  const cte = (header(part.headers, 'content-transfer-encoding') ?? '').toLowerCase();
  if (!['', '7bit', '8bit', 'binary', 'base64', 'quoted-printable'].includes(cte)) return null;
  return cte === 'base64' ? Buffer.from(part.body, 'base64') : cte === 'quoted-printable' ? decodeQuotedPrintable(part.body) : Buffer.from(part.body);
}

/** The body as text: transfer encoding (RFC 2045 6) and charset undone; null when the encoding is unknown. */
export function decodedBody(part: MimePart): string | null {
  const bytes = decodedBytes(part);
  if (bytes === null) return null;
  const charset = (part.params.charset ?? 'utf-8').toLowerCase();
  try {
    return new TextDecoder(charset === 'us-ascii' ? 'utf-8' : charset).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

/** Every part, depth first, including multipart containers and embedded messages' parts. */
export function* walkParts(p: MimePart): Generator<MimePart> {
  yield p;
  for (const c of p.children) yield* walkParts(c);
  if (p.embedded) yield* walkParts(p.embedded.root);
}

// One MIME parse per message, however many tests read it.
const trees = new WeakMap<SieveMessage, MimePart>();

/** What mimeTreeSliced needs of the run's budget (runtime.ts CpuBudget). */
export interface SlicedCharge extends Charge {
  sliceMs: number;
  yieldDue: boolean;
  pause(): Promise<void>;
}

/**
 * Reads the message's part tree in time slices when the run is sliced
 * (docs/sieve-interpreter.md): between parts, once the slice is over, the
 * event loop runs other sessions. Resolves when mimeTree has the tree;
 * undefined when it is there already or the run is not sliced (mimeTree
 * then reads it at once). A test that needs the tree waits for this first.
 */
export function mimeTreeSliced(msg: SieveMessage, budget: SlicedCharge): Promise<void> | undefined {
  if (trees.has(msg) || budget.sliceMs <= 0) return undefined;
  const steps = mimeSteps(msg.raw, 'text/plain', 0, budget);
  const run = async (): Promise<void> => {
    for (;;) {
      const r = steps.next();
      if (r.done) {
        trees.set(msg, r.value);
        return;
      }
      if (budget.yieldDue) await budget.pause();
    }
  };
  return run();
}

/** A test that reads MIME parts: the part tree first (in slices, mimeTreeSliced), then the test again; undefined when the tree is at hand. */
export function afterMimeTree<T>(msg: SieveMessage, budget: SlicedCharge, again: () => T | Promise<T>): Promise<T> | undefined {
  return mimeTreeSliced(msg, budget)?.then(again);
}
/**
 * The message's part tree. A message nested past MAX_MIME_DEPTH is a
 * runtime error for whatever test asked: a silent miss would let a sender
 * hide content from body and MIME tests by nesting it deep.
 */
export function mimeTree(msg: SieveMessage, charge?: Charge): MimePart {
  let p = trees.get(msg);
  if (!p) trees.set(msg, (p = parseMime(msg.raw, 'text/plain', 0, charge)));
  if (tooDeep(p)) throw new SieveRuntimeFailure(`the message nests MIME parts deeper than ${MAX_MIME_DEPTH} levels; its content cannot be tested`);
  return p;
}

const deep = new WeakMap<MimePart, boolean>();
function tooDeep(p: MimePart): boolean {
  let d = deep.get(p);
  if (d === undefined) {
    d = false;
    for (const q of walkParts(p)) if (q.tooDeep) d = true;
    deep.set(p, d);
  }
  return d;
}

/**
 * RFC 5703 5: parts `replace` has replaced while foreverypart walks the
 * tree they belong to (by the part of that tree, with the entity that
 * stands for it now). foreverypart does not go into a replaced part.
 */
export const REPLACED = 'mime.replaced';
export interface Replaced {
  root: MimePart;
  parts: Map<MimePart, string>;
}

export function insideReplaced(state: Map<string, unknown>, part: MimePart): boolean {
  const r = state.get(REPLACED) as Replaced | undefined;
  if (!r) return false;
  for (const q of r.parts.keys()) if (q !== part && Array.from(walkParts(q)).includes(part)) return true;
  return false;
}

/** The entity text of a part, with replaced parts written as their replacements (RFC 2046 5.1.1 boundaries). */
export function serializePart(p: MimePart, replaced: ReadonlyMap<MimePart, string>): string {
  const r = replaced.get(p);
  if (r !== undefined) return r;
  return `${p.headers.map((h) => `${h.raw}\r\n`).join('')}\r\n${serializeBody(p, replaced)}`;
}

function serializeBody(p: MimePart, replaced: ReadonlyMap<MimePart, string>): string {
  if (p.embedded) return serializePart(p.embedded.root, replaced);
  if (p.children.length === 0 || !p.params.boundary) return p.body;
  const delim = `--${p.params.boundary}`;
  // The reader keeps preamble and epilogue as joined lines: whether there was a line at all shows in the body.
  const lines = p.body.startsWith(delim) ? [] : [p.preamble];
  for (const c of p.children) lines.push(delim, serializePart(c, replaced));
  lines.push(`${delim}--`);
  if (!/--[ \t]*$/.test(p.body)) lines.push(p.epilogue);
  return lines.join('\r\n');
}

/** The parts foreverypart is inside, innermost last (RFC 5703 3), kept in the run's state. */
export const PART_STACK = 'mime.parts';

export function currentPart(state: Map<string, unknown>): MimePart | undefined {
  return (state.get(PART_STACK) as MimePart[] | undefined)?.at(-1);
}

/**
 * RFC 5703 4.1: the header fields `:mime` tests read: those of the current
 * part (the message itself outside foreverypart) or, with `:anychild`, of
 * it and every part inside it.
 */
export function mimeFields(msg: SieveMessage, state: Map<string, unknown>, names: string[], anychild: boolean, charge?: Charge): string[] {
  const part = currentPart(state) ?? mimeTree(msg, charge);
  const parts = anychild ? Array.from(walkParts(part)) : [part];
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const out: string[] = [];
  for (const p of parts) for (const h of p.headers) if (wanted.has(h.lname)) out.push(h.value);
  return out;
}
