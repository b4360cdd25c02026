/**
 * The message a script looks at: header fields in order (RFC 5322 2.2),
 * unfolded, and the body. Parsed once; tests read it many times.
 */
import type { MatchBudget } from '../match/match-types.js';
import type { Octets } from './octets.js';
import { nameHash, ParsedField, unfold } from './parsed-field.js';

export { decodedHeaderValue } from './rfc2047.js';

export interface HeaderField {
  /** As written. */
  name: string;
  /** Lower case, for look-up: field names are case-insensitive (RFC 5322 1.2.2). */
  lname: string;
  /** The unfolded value (RFC 5322 2.2.3: CRLF before WSP removed), not trimmed. */
  value: string;
  /** The field as written, folding kept, without the final CRLF: what a rewrite puts back. */
  raw: string;
}

export interface SieveMessage {
  /** The whole message with CRLF line ends. */
  raw: string;
  headers: HeaderField[];
  /** The body, after the empty line. */
  body: string;
  /** Size in octets (RFC 5228 5.9). */
  size: number;
  /** False when the header is not followed by an empty line: there is no body at all (RFC 5173 5). */
  hasBody: boolean;
  /** The message's octets as the host keeps them, for the MIME reader (mime-split.ts); without it, `raw` is read. */
  octets?(): Octets;
  /**
   * When reading `raw` or `body` would read a file on the event loop (a
   * spooled message not read yet): a promise that brings the message into
   * memory first; undefined when it is at hand. A test that reads the
   * whole message waits for it (loadedThen).
   */
  load?(): Promise<void> | undefined;
  /**
   * The body (what `body` holds: the text after the empty line, with CRLF
   * line ends) in pieces, read from where the host keeps it without
   * loading the message: for a test that can read it as it comes
   * (contains-in-pieces.ts). Undefined when the body is at hand, or the
   * host cannot give it so; then read `body`.
   */
  bodyPieces?(): AsyncIterable<string> | undefined;
  /**
   * When the header fields are not parsed yet (a lazy message's header
   * section): a promise that parses them in the run's time slices, charged
   * to its budget; undefined when there is nothing to parse, or so little
   * that reading a field may as well parse it.
   */
  prepare?(budget: ParseBudget): Promise<void> | undefined;
}

/**
 * A test about to read octets that are not at hand (MimePart.ready,
 * SieveMessage.load): waits for them, then runs `again`; undefined when
 * there is nothing to wait for. The run's clock stops while the file is
 * read, as it stops while the MIME reader waits for the file; other
 * sessions run meanwhile.
 */
export function afterLoad<T>(wait: Promise<void> | undefined, budget: { suspend(): void; resume(): void }, again: () => T | Promise<T>): Promise<T> | undefined {
  if (!wait) return undefined;
  budget.suspend();
  return wait.finally(() => budget.resume()).then(again);
}

/** Normalises line ends to CRLF and splits header and body. */
export function parseMessage(text: string): SieveMessage {
  return parseMessageIn(text) as SieveMessage;
}

/** What parseMessageIn needs of a run's CPU budget (cpu-budget.ts CpuBudget). */
export type ParseBudget = Pick<MatchBudget, 'charge' | 'yieldDue' | 'pause'>;

/**
 * parseMessage for a message a run writes (replace, enclose), whose
 * header fields may be megabytes long: each header line is charged to the
 * run's budget as it is read (a unit a character, the rest of the message
 * when done), and in a time-sliced run the event loop may go between
 * lines when the slice is over (docs/sieve-interpreter.md, "CPU budget and
 * time slices"). Without a budget, or when no slice ends, the answer is
 * synchronous.
 */
export function parseMessageIn(text: string, budget?: ParseBudget): SieveMessage | Promise<SieveMessage> {
  const raw = crlf(text);
  // The header section ends at the first empty line (RFC 5322 2.1), found as its lines are read.
  // No empty line: no body at all (hasBody false), the header section is the whole text.
  const done: HeadersDone = (fields, headerEnd) => {
    budget?.charge(raw.length - headerEnd);
    const hasBody = headerEnd < raw.length;
    if (fields.hashes) fieldHashes.set(fields.list, fields.hashes);
    return { raw, headers: fields.list, body: hasBody ? raw.slice(headerEnd + 2) : '', size: Buffer.byteLength(raw), hasBody };
  };
  // A parse in time slices notes a hash of each field's name as it reads it (indexedHeaderValues).
  const fields: Fields = budget ? { list: [], hashes: [] } : { list: [] };
  if (raw.startsWith('\r\n')) return done(fields, 0);
  return headerLines(raw, 0, fields, null, budget, done);
}

/**
 * A header field being read: where it starts, where its value starts, and
 * its value unfolded so far. A folded field is unfolded a chunk at a time
 * rather than a line at a time: one Subject folded over two million lines
 * made four million joined strings, and collecting them held every other
 * session over 200 ms.
 */
interface OpenField {
  start: number;
  /** Where its name ends (white space before the colon left out). */
  nameEnd: number;
  /** Where its value starts: after the colon. */
  valueAt: number;
  /** Offset up to which the value is in `parts` (its start, the colon + 1, at first). */
  done: number;
  parts: string[];
}

/** A folded value's chunk is unfolded once this many characters of it are read. */
const UNFOLD_CHUNK = 64 * 1024;
/** The field ending at `stop`; a value unfolded in chunks is joined now, any other is unfolded when first read. */
function closeField(raw: string, f: OpenField, stop: number): ParsedField {
  return new ParsedField(raw, f.start, f.nameEnd, f.valueAt, stop, f.parts.length ? f.parts.join('') + unfold(raw.slice(f.done, stop)) : undefined);
}

/** The header fields read so far, and the hashes of their names when the parse notes them. */
interface Fields {
  list: HeaderField[];
  hashes?: number[];
}

function addField(fields: Fields, f: ParsedField): void {
  fields.list.push(f);
  fields.hashes?.push(f.nameHash());
}

/** Ends a parse: the header fields, and where the empty line that ends them starts (the text's length when there is none). */
type HeadersDone = (fields: Fields, headerEnd: number) => SieveMessage;

/** The header fields of raw, from the line at `pos` to the first empty line; `open` is the field a folded line continues. */
function headerLines(raw: string, pos: number, fields: Fields, open: OpenField | null, budget: ParseBudget | undefined, done: HeadersDone): SieveMessage | Promise<SieveMessage> {
  const end = raw.length;
  for (;;) {
    let lineEnd = raw.indexOf('\r\n', pos);
    if (lineEnd < 0) lineEnd = end;
    else if (lineEnd === pos) {
      // The empty line: the header section ends with the line before it.
      if (open) addField(fields, closeField(raw, open, pos - 2));
      return done(fields, pos);
    }
    const first = raw.charCodeAt(pos);
    if ((first === 32 || first === 9) && pos < lineEnd && open) {
      // A folded line: the value grows; a long one is unfolded chunk by chunk (cut before a CRLF, so the next chunk sees its WSP).
      if (lineEnd - open.done >= UNFOLD_CHUNK) {
        open.parts.push(unfold(raw.slice(open.done, lineEnd)));
        open.done = lineEnd;
      }
    } else {
      if (open) addField(fields, closeField(raw, open, pos - 2));
      open = null;
      // The colon is looked for in this line only: an indexOf past it would read on through every line without one.
      let colon = pos;
      while (colon < lineEnd && raw.charCodeAt(colon) !== 58) colon++;
      if (colon > pos && colon < lineEnd) {
        // The name without the white space before the colon; RFC 5322 3.6.8: printable ASCII without colon or space.
        let nameEnd = colon;
        while (nameEnd > pos && (raw.charCodeAt(nameEnd - 1) === 32 || raw.charCodeAt(nameEnd - 1) === 9)) nameEnd--;
        let printable = nameEnd > pos;
        for (let i = pos; printable && i < nameEnd; i++) printable = raw.charCodeAt(i) >= 0x21 && raw.charCodeAt(i) <= 0x7e;
        if (printable) open = { start: pos, nameEnd, valueAt: colon + 1, done: colon + 1, parts: [] };
      }
    }
    budget?.charge(lineEnd - pos + 2);
    if (lineEnd >= end) {
      if (open) addField(fields, closeField(raw, open, lineEnd));
      return done(fields, end);
    }
    pos = lineEnd + 2;
    if (budget?.yieldDue) {
      const [from, field] = [pos, open];
      return budget.pause().then(() => headerLines(raw, from, fields, field, budget, done));
    }
  }
}

/**
 * A message whose header section is at hand and whose whole text is read
 * only when a test needs it (the body, the MIME structure, the raw text):
 * a host keeps a large message on disk, and a script that tests only
 * header fields never loads it, nor does one that reads only the MIME
 * structure when the host gives `octets`. `head` is the header section through its
 * empty line, or undefined when the host does not have it apart (then the
 * header fields come from the whole text too); `size` is in octets with
 * CRLF line ends (RFC 5228 5.9), known to the host without reading.
 */
export function lazyMessage(
  head: string | undefined,
  size: number,
  readWhole: () => string,
  octets?: () => Octets,
  loadWhole?: () => Promise<void> | undefined,
  readBody?: () => AsyncIterable<string> | undefined,
): SieveMessage {
  const m = new LazyMessage(head, size, readWhole);
  if (octets) m.octets = octets;
  if (loadWhole) m.loadWhole = loadWhole;
  if (readBody) m.readBody = readBody;
  return m;
}

/** Keeps what a parse gave, now or once its slices are done: undefined when it was done at once. */
function parsedThen(parsed: SieveMessage | Promise<SieveMessage>, keep: (m: SieveMessage) => void): Promise<void> | undefined {
  if (!(parsed instanceof Promise)) {
    keep(parsed);
    return undefined;
  }
  return parsed.then(keep);
}

/** A header section this long is parsed in a run's slices (prepare) rather than when a field is first read. */
const PREPARE_CHARS = 64 * 1024;

class LazyMessage implements SieveMessage {
  private full: SieveMessage | undefined;
  /**
   * The header fields, parsed from `head` when first read, or beforehand in
   * a run's slices (prepare): a header section of megabytes of folded lines
   * took 90-210 ms to parse in one step.
   */
  private headPart: SieveMessage | undefined;
  octets?: () => Octets;
  loadWhole?: () => Promise<void> | undefined;
  readBody?: () => AsyncIterable<string> | undefined;

  load(): Promise<void> | undefined {
    return this.full ? undefined : this.loadWhole?.();
  }

  bodyPieces(): AsyncIterable<string> | undefined {
    return this.full ? undefined : this.readBody?.();
  }

  constructor(
    private readonly head: string | undefined,
    readonly size: number,
    private readonly readWhole: () => string,
  ) {}

  prepare(budget: ParseBudget): Promise<void> | undefined {
    const head = this.head;
    if (head === undefined) return this.prepareWhole(budget);
    if (this.headPart || head.length < PREPARE_CHARS) return undefined;
    return parsedThen(parseMessageIn(head, budget), (m) => (this.headPart ??= m));
  }

  /**
   * No header section apart: the host keeps none past a size (a header
   * section of megabytes, or a message without the empty line), so the
   * header fields come from the whole message. Parsed here in the run's
   * slices, after loading it without holding the event loop (load): read
   * in one step when a test first asked for a field, 550,000 folded lines
   * held every session 130-240 ms, most of it a garbage collection of what
   * one step had made.
   */
  private prepareWhole(budget: ParseBudget): Promise<void> | undefined {
    if (this.full || this.size < PREPARE_CHARS) return undefined;
    const parse = () => parsedThen(parseMessageIn(this.readWhole(), budget), (m) => (this.full ??= m));
    const loading = this.load();
    return loading ? loading.then(parse) : parse();
  }

  /** The header fields' message, parsed now if not yet; undefined when the host gave no header section apart. */
  private headFields(): SieveMessage | undefined {
    return this.head === undefined ? undefined : (this.headPart ??= parseMessage(this.head));
  }

  private whole(): SieveMessage {
    return (this.full ??= parseMessage(this.readWhole()));
  }

  get headers(): HeaderField[] {
    return (this.headFields() ?? this.whole()).headers;
  }

  get raw(): string {
    return this.whole().raw;
  }

  get body(): string {
    return this.whole().body;
  }

  /** A header section that ends with its empty line has a body, perhaps empty. */
  get hasBody(): boolean {
    return this.head !== undefined ? true : this.whole().hasBody;
  }
}

/**
 * Every line end as CRLF. Mail from SMTP has CRLF already (RFC 5321 2.3.8):
 * finding that out by a scan is far cheaper than a regex replace over a
 * large message, which copies it.
 */
function crlf(text: string): string {
  return BARE_LF.test(text) ? text.replace(/\r?\n/g, '\r\n') : text;
}
/** A line feed without its carriage return: one regex scan is a quarter of a loop over every line feed (2 million lines: 8-13 ms, not 31-40). */
const BARE_LF = /(?:^|[^\r])\n/;

/** A message with a new header (editheader, RFC 5293): the body and other fields are kept as written. */
export function withHeaders(m: SieveMessage, headers: HeaderField[]): SieveMessage {
  const head = headers.map((h) => `${h.raw}\r\n`).join('');
  const raw = m.hasBody ? `${head}\r\n${m.body}` : head;
  return { raw, headers, body: m.body, size: Buffer.byteLength(raw), hasBody: m.hasBody };
}

/** Whether field `h` is named `lname` (lower case): a parsed field tells without making its name's strings. */
const named = (h: HeaderField, lname: string): boolean => (h instanceof ParsedField ? h.isNamed(lname) : h.lname === lname);

/** The unfolded values of every field with this (lower-case) name, in order. */
export function headerValues(m: SieveMessage, lname: string): string[] {
  const out: string[] = [];
  for (const h of m.headers) if (named(h, lname)) out.push(h.value);
  return out;
}

/**
 * `headerValues` for readers that do not change the answer: the values by
 * name are indexed once per header section (a message's, or the new one
 * an edit makes) on first use, so that a policy testing a dozen fields
 * does not scan the header a dozen times per run.
 *
 * Only up to INDEXED_FIELDS fields: the index is made in one step, and
 * one of 300,000 names held every other session 170 ms, its garbage
 * collection as long again (made in slices instead, its Map's growth alone
 * took 180 ms steps). Past that a look-up scans the hashes of the names
 * that a parse in time slices noted (half a million in a millisecond or
 * so), or else the fields themselves (40-60 ms for half a million).
 */
const INDEXED_FIELDS = 2000;
const fieldIndex = new WeakMap<readonly HeaderField[], Map<string, string[]>>();
const fieldHashes = new WeakMap<readonly HeaderField[], number[]>();
const NO_VALUES: readonly string[] = Object.freeze([]);

/**
 * Whether a field of this (lower-case) name is present (RFC 5228 5.5
 * `exists`): the index when a test already made it, else a scan of the
 * names alone. Making the index unfolds every field's value, and `exists`
 * reads none; past SCANNED_FIELDS fields the index (or the names' hashes)
 * answers, as for a test that reads values.
 */
export function hasHeaderField(m: SieveMessage, lname: string): boolean {
  const headers = m.headers;
  const index = fieldIndex.get(headers);
  if (index) return index.has(lname);
  if (headers.length > SCANNED_FIELDS) return indexedHeaderValues(m, lname).length > 0;
  for (const h of headers) if (named(h, lname)) return true;
  return false;
}
const SCANNED_FIELDS = 64;

export function indexedHeaderValues(m: SieveMessage, lname: string): readonly string[] {
  const headers = m.headers;
  let index = fieldIndex.get(headers);
  if (!index) {
    if (headers.length > INDEXED_FIELDS) {
      const hashes = fieldHashes.get(headers);
      if (!hashes) return headerValues(m, lname);
      const h = nameHash(lname);
      const out: string[] = [];
      for (let i = 0; i < hashes.length; i++) if (hashes[i] === h && named(headers[i]!, lname)) out.push(headers[i]!.value);
      return out;
    }
    index = new Map();
    for (const h of headers) {
      const values = index.get(h.lname);
      if (values) values.push(h.value);
      else index.set(h.lname, [h.value]);
    }
    fieldIndex.set(headers, index);
  }
  return index.get(lname) ?? NO_VALUES;
}
