/**
 * The message a script looks at: header fields in order (RFC 5322 2.2),
 * unfolded, and the body. Parsed once; tests read it many times.
 */
import type { MatchBudget } from '../match/match-types.js';
import type { Octets } from './mime-split.js';

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

/** What parseMessageIn needs of a run's CPU budget (runtime.ts CpuBudget). */
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
  let headerEnd = raw.indexOf('\r\n\r\n');
  let bodyStart: number;
  let hasBody = true;
  if (raw.startsWith('\r\n')) {
    headerEnd = 0;
    bodyStart = 2;
  } else if (headerEnd < 0) {
    hasBody = false;
    headerEnd = raw.length;
    bodyStart = raw.length;
  } else bodyStart = headerEnd + 4;
  const done = (headers: HeaderField[]): SieveMessage => {
    budget?.charge(raw.length - headerEnd);
    return { raw, headers, body: raw.slice(bodyStart), size: Buffer.byteLength(raw), hasBody };
  };
  return headerLines(raw, headerEnd, 0, [], null, budget, done);
}

/** The header fields in raw up to `end`, from the line at `pos`; `cur` is the field a folded line continues. */
function headerLines(
  raw: string,
  end: number,
  pos: number,
  headers: HeaderField[],
  cur: HeaderField | null,
  budget: ParseBudget | undefined,
  done: (headers: HeaderField[]) => SieveMessage,
): SieveMessage | Promise<SieveMessage> {
  for (;;) {
    let lineEnd = raw.indexOf('\r\n', pos);
    if (lineEnd < 0 || lineEnd > end) lineEnd = end;
    const line = raw.slice(pos, lineEnd);
    if ((line.startsWith(' ') || line.startsWith('\t')) && cur) {
      cur.value += line;
      cur.raw += `\r\n${line}`;
    } else {
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon).replace(/[ \t]+$/, '') : '';
      // RFC 5322 3.6.8: field names are printable ASCII without colon or space.
      if (colon > 0 && /^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
        cur = { name, lname: name.toLowerCase(), value: line.slice(colon + 1), raw: line };
        headers.push(cur);
      } else cur = null;
    }
    budget?.charge(line.length + 2);
    if (lineEnd >= end) return done(headers);
    pos = lineEnd + 2;
    if (budget?.yieldDue) {
      const [from, field] = [pos, cur];
      return budget.pause().then(() => headerLines(raw, end, from, headers, field, budget, done));
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
export function lazyMessage(head: string | undefined, size: number, readWhole: () => string, octets?: () => Octets, loadWhole?: () => Promise<void> | undefined): SieveMessage {
  const m = new LazyMessage(head, size, readWhole);
  if (octets) m.octets = octets;
  if (loadWhole) m.loadWhole = loadWhole;
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

  load(): Promise<void> | undefined {
    return this.full ? undefined : this.loadWhole?.();
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
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    if (i === 0 || text.charCodeAt(i - 1) !== 13) return text.replace(/\r?\n/g, '\r\n');
  }
  return text;
}

/** A message with a new header (editheader, RFC 5293): the body and other fields are kept as written. */
export function withHeaders(m: SieveMessage, headers: HeaderField[]): SieveMessage {
  const head = headers.map((h) => `${h.raw}\r\n`).join('');
  const raw = m.hasBody ? `${head}\r\n${m.body}` : head;
  return { raw, headers, body: m.body, size: Buffer.byteLength(raw), hasBody: m.hasBody };
}

/** The unfolded values of every field with this (lower-case) name, in order. */
export function headerValues(m: SieveMessage, lname: string): string[] {
  const out: string[] = [];
  for (const h of m.headers) if (h.lname === lname) out.push(h.value);
  return out;
}

/**
 * `headerValues` for readers that do not change the answer: the values by
 * name are indexed once per header section (a message's, or the new one
 * an edit makes) on first use, so that a policy testing a dozen fields
 * does not scan the header a dozen times per run.
 */
const fieldIndex = new WeakMap<readonly HeaderField[], Map<string, string[]>>();
const NO_VALUES: readonly string[] = Object.freeze([]);
export function indexedHeaderValues(m: SieveMessage, lname: string): readonly string[] {
  const headers = m.headers;
  let index = fieldIndex.get(headers);
  if (!index) {
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
