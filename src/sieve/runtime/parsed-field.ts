/**
 * The header fields a parse of a message makes (message.ts): offsets into
 * the message's text, read as strings when asked for.
 */
import type { HeaderField } from './message.js';

/**
 * RFC 5322 2.2.3: unfolding removes each CRLF that comes before white
 * space. V8 gives a replace's result as a tree of its pieces, made flat
 * (copied into one string) by whatever reads it first: read here, in the
 * step that unfolded it, so that joining a long value's chunks is a copy
 * (2.5 ms for 4 MB) and not a flattening of every piece at once (120 ms).
 */
export function unfold(text: string): string {
  if (text.indexOf('\r\n') < 0) return text;
  const out = text.replace(/\r\n(?=[ \t])/g, '');
  out.charCodeAt(0);
  return out;
}

/**
 * A header field of a parsed message, as offsets into its text: its
 * strings are made when first read. Half a million short fields made as
 * four strings and an object each were 91 MB (182 octets a field) that
 * the young collections copied while the parse ran, 30-40 ms a collection
 * with every session waiting (docs/sieve-interpreter.md, "CPU budget and
 * time slices"); as one object each they are 45 MB in a fifth as many
 * objects, and a test that asks for one name makes the strings of the
 * fields of that name only.
 */
export class ParsedField implements HeaderField {
  private lower: string | undefined;

  constructor(
    private readonly text: string,
    private readonly start: number,
    private readonly nameEnd: number,
    private readonly valueAt: number,
    private readonly stop: number,
    private unfolded: string | undefined,
  ) {}

  get name(): string {
    return this.text.slice(this.start, this.nameEnd);
  }

  get lname(): string {
    return (this.lower ??= this.name.toLowerCase());
  }

  get value(): string {
    return (this.unfolded ??= unfold(this.text.slice(this.valueAt, this.stop)));
  }

  /** As written, folding kept: a slice of the message, not a copy. */
  get raw(): string {
    return this.text.slice(this.start, this.stop);
  }

  /** Whether its name is `lname` (lower case), read from the text without making a string. */
  isNamed(lname: string): boolean {
    if (this.nameEnd - this.start !== lname.length) return false;
    for (let i = 0; i < lname.length; i++) if (lowerAscii(this.text.charCodeAt(this.start + i)) !== lname.charCodeAt(i)) return false;
    return true;
  }

  /** nameHash(lname), read from the text. */
  nameHash(): number {
    return nameHash(this.text, this.start, this.nameEnd);
  }
}

/**
 * A 32-bit hash of a field name from `from` to `to` in `text` (FNV-1a
 * over its UTF-16 units), ASCII letters in lower case: a field name is
 * printable ASCII (RFC 5322 3.6.8), so that is its lower case, and a name
 * asked for is given in lower case already.
 */
export function nameHash(text: string, from = 0, to = text.length): number {
  let h = 0x811c9dc5 | 0;
  for (let i = from; i < to; i++) h = Math.imul(h ^ lowerAscii(text.charCodeAt(i)), 0x01000193);
  return h;
}

/** An ASCII capital's small letter; any other character itself. */
const lowerAscii = (c: number): number => (c >= 65 && c <= 90 ? c + 32 : c);
