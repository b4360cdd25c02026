/**
 * The CSV datasource's reader: RFC 4180 records (fields split on commas;
 * a field that starts with a double quote may hold commas, line breaks and
 * "" for a quote), read in slices so that a file of many megabytes does not
 * hold the event loop: the reader stops after a slice of work, lets the
 * event loop run (timers, sockets, other sessions' scripts) and goes on
 * from where it stopped (docs/server.md, "The spool").
 *
 * The reader works on the whole text, which is in memory anyway, and copies
 * runs of ordinary characters with one slice() each instead of a character
 * at a time (the character-at-a-time reader took 1.2-4 s for 20 MB, most of
 * it in the garbage collector). What it reads is exactly what that reader
 * read, for any text: a quote opens a quoted section only when the field
 * has nothing yet, a quote anywhere else is an ordinary character, text
 * after a closing quote joins the field, a line of one empty field is
 * skipped, CR, LF and CRLF end a record, and an unterminated quote runs to
 * the end of the text.
 */
import { nextTurn } from '../../next-turn.js';

/** Characters scanned in one step at most: a step is the unit between two looks at the clock. */
const STEP_CHARS = 16_384;
/** Steps between two looks at the clock. */
const STEPS_PER_CHECK = 256;
/**
 * Default length of a slice of work before the event loop gets a turn: the
 * interpreter's slice (docs/sieve-interpreter.md, "CPU budget and time
 * slices"). What a session waits beside a parse is mostly the young
 * generation's collections of the records made, 10-20 ms each on the
 * loaded 2-core test machine, which no slice length removes.
 */
export const CSV_SLICE_MS = 2;

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

/** A reading in progress: its records so far and where it stands, so that it can stop after any step. */
export class CsvReader {
  readonly records: string[][] = [];
  private row: string[] = [];
  private field = '';
  private quoted = false;
  private at = 0;
  private ended = false;

  constructor(
    private readonly text: string,
    /** Characters one step scans at most (smaller in the tests, to put step boundaries everywhere). */
    private readonly stepChars = STEP_CHARS,
  ) {}

  get done(): boolean {
    return this.ended;
  }

  /** Reads at most `steps` steps (each a field, a line break, a quoted run or `stepChars` characters); true when the text is read. */
  read(steps: number): boolean {
    const { text } = this;
    const n = text.length;
    let { at, field, quoted, row } = this;
    for (; steps > 0 && at < n; steps--) {
      if (quoted) {
        const q = text.indexOf('"', at);
        if (q < 0) {
          // Unterminated: the rest of the text is the field's.
          field += text.slice(at);
          at = n;
        } else if (text.charCodeAt(q + 1) === QUOTE) {
          field += text.slice(at, q + 1);
          at = q + 2;
        } else {
          field += text.slice(at, q);
          quoted = false;
          at = q + 1;
        }
        continue;
      }
      const limit = Math.min(n, at + this.stepChars);
      let i = at;
      let c = 0;
      while (i < limit && (c = text.charCodeAt(i)) !== COMMA && c !== LF && c !== CR && c !== QUOTE) i++;
      if (i > at) field += text.slice(at, i);
      if (i === limit) {
        at = i;
        continue;
      }
      if (c === QUOTE) {
        if (field === '') quoted = true;
        else field += '"';
        at = i + 1;
      } else if (c === COMMA) {
        row.push(field);
        field = '';
        at = i + 1;
      } else {
        at = c === CR && text.charCodeAt(i + 1) === LF ? i + 2 : i + 1;
        row.push(field);
        if (row.length > 1 || row[0] !== '') this.records.push(row);
        row = [];
        field = '';
      }
    }
    Object.assign(this, { at, field, quoted, row });
    if (at >= n && !this.ended) {
      this.ended = true;
      if (field !== '' || row.length) this.records.push([...row, field]);
    }
    return this.ended;
  }
}

/** The records of a CSV text, read in one go (for small texts and as the reference of the sliced reading). */
export function parseCsv(text: string): string[][] {
  const reader = new CsvReader(text);
  reader.read(Infinity);
  return reader.records;
}

/**
 * Runs `work` (which does a bounded piece and says whether it is done)
 * until it is done, letting the event loop run whenever `sliceMs` has
 * passed since the slice began (0: after every check).
 */
export async function inSlices(work: (steps: number) => boolean, sliceMs = CSV_SLICE_MS): Promise<void> {
  let sliceStart = performance.now();
  while (!work(STEPS_PER_CHECK)) {
    if (performance.now() - sliceStart >= sliceMs) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
}

/** The records of a CSV text, read in slices of `sliceMs`: the same records as parseCsv. */
export async function parseCsvInSlices(text: string, sliceMs = CSV_SLICE_MS): Promise<string[][]> {
  const reader = new CsvReader(text);
  await inSlices((steps) => reader.read(steps), sliceMs);
  return reader.records;
}
