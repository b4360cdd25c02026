/**
 * The hand-written MIME reader smtp-cbv used before mailsplit (RFC 2045,
 * 2046): whole-text, line by line. Kept for the MIME benchmark only
 * (bench/mime.bench.ts), which measures the mailsplit reader against it
 * in the same run.
 */
import { type HeaderField, parseMessage } from '../src/sieve/runtime/message.js';
import { type MimePart, parseContentType } from '../src/sieve/runtime/mime.js';

/** The old reader built the same tree shape, every body held as a string. */
export type LegacyPart = MimePart;

const header = (hs: HeaderField[], name: string) => hs.find((h) => h.lname === name)?.value.trim();

/** Nesting past this many levels of multipart or message/rfc822 is not parsed (the stack stays bounded). */
export const MAX_MIME_DEPTH = 20;

/** A run's CPU budget (cpu-budget.ts CpuBudget): charge() throws when it is spent. */
export interface Charge {
  charge(units: number): void;
}

/**
 * Parses a whole message (or part) text into the part tree; `depth` bounds
 * nesting. A message of many parts takes long to read: each part is charged
 * by its size, so that reading stops at the run's budget.
 */
export function parseMime(raw: string, fallback = 'text/plain', depth = 0, charge?: Charge): LegacyPart {
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
function* mimeSteps(raw: string, fallback: string, depth: number, charge: Charge | undefined): Generator<void, LegacyPart> {
  charge?.charge(raw.length + 256);
  const m = parseMessage(raw);
  const { type, params } = parseContentType(header(m.headers, 'content-type'), fallback);
  const part: LegacyPart = { headers: m.headers, type, params, body: m.body, children: [], preamble: '', epilogue: '' };
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


/** Every part, depth first, including multipart containers and embedded messages' parts. */
export function* walkParts(p: LegacyPart): Generator<LegacyPart> {
  yield p;
  for (const c of p.children) yield* walkParts(c);
  if (p.embedded) yield* walkParts(p.embedded.root);
}
