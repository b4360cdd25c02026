/**
 * rbldnsd's ip4set data (rbldnsd(8), "ip4set Dataset"), as define_cidr
 * reads it with `dstype` "rbldnsd" (sieve-ref-cidrdb.md): each entry an
 * IPv4 address or range with an optional value, as the rows of a table with
 * the columns `cidr` and `str` (the page's example names them so).
 *
 *   1.2.3.4            one address; 1.2.3, 1.2 and 1 are the /24, /16, /8
 *   10.0.0.0/8         a block
 *   1.2.3.4-1.2.3.9    a range (1.2.3.4-9 too): the blocks that cover it
 *   !1.2.3.5           an exception: not listed, inside a listed block
 *   1.2.3.4 :127.0.0.3:Listed, see $   an entry's own A value and TXT
 *   1.2.3.4 Listed     a TXT alone, with the default A value
 *   :127.0.0.2:Spam source             the default A and TXT of the entries after it
 *   # a comment, ; a comment, $SOA ... and the other $ lines: skipped
 *
 * `want` "a" gives each entry's A value as `str`, "txt" its TXT (the
 * query's `?want=`). The A value is 127.0.0.2 unless set. A line that
 * does not read is skipped, as rbldnsd skips it with a warning.
 */

export interface RbldnsdRow {
  cidr: string;
  str: string;
  /** An exception (`!`): the addresses of this block are not listed. */
  excluded?: true;
}

const DEFAULT_A = '127.0.0.2';

/** An address of one to four octets (rbldnsd's short forms), as its 32 bits and the prefix its octet count implies. */
function address(text: string): { n: number; bits: number } | undefined {
  const parts = text.split('.');
  if (parts.length < 1 || parts.length > 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  let n = 0;
  for (let i = 0; i < 4; i++) n = n * 256 + Number(parts[i] ?? 0);
  return { n, bits: parts.length * 8 };
}

const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** The blocks that cover first..last exactly, largest first (the usual range to CIDR split). */
export function rangeBlocks(first: number, last: number): string[] {
  const out: string[] = [];
  let at = first;
  while (at <= last) {
    // The largest block starting at `at` that stays within the range.
    let size = at === 0 ? 2 ** 32 : lowestBit(at);
    while (size > last - at + 1) size /= 2;
    out.push(`${dotted(at)}/${32 - Math.log2(size)}`);
    at += size;
  }
  return out;
}

/** The value of `n`'s lowest set bit (its alignment), as a number up to 2^31. */
function lowestBit(n: number): number {
  let b = 1;
  while (b < 2 ** 32 && n % (b * 2) === 0) b *= 2;
  return b;
}

/** The blocks an entry names, or undefined when it does not read. */
function blocks(entry: string): string[] | undefined {
  const dash = entry.indexOf('-');
  if (dash < 0) {
    const slash = entry.indexOf('/');
    const a = address(slash < 0 ? entry : entry.slice(0, slash));
    if (!a) return undefined;
    const bits = slash < 0 ? a.bits : Number(entry.slice(slash + 1));
    if (!Number.isInteger(bits) || bits < 0 || bits > 32 || (slash >= 0 && !/^\d{1,2}$/.test(entry.slice(slash + 1)))) return undefined;
    // The block's own first address: rbldnsd reads 1.2.3.4/24 as 1.2.3.0/24.
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return [`${dotted((a.n & mask) >>> 0)}/${bits}`];
  }
  const from = address(entry.slice(0, dash));
  if (!from) return undefined;
  const rest = entry.slice(dash + 1);
  // 1.2.3.4-9: the last octets of the end, the first ones the start's.
  const fromParts = entry.slice(0, dash).split('.');
  const restParts = rest.split('.');
  if (restParts.length > fromParts.length) return undefined;
  const to = address([...fromParts.slice(0, fromParts.length - restParts.length), ...restParts].join('.'));
  if (!to) return undefined;
  // A short form names its whole block: 1.2.3-1.2.5 runs to 1.2.5.255.
  const last = to.n + 2 ** (32 - to.bits) - 1;
  if (last < from.n) return undefined;
  return rangeBlocks(from.n, last);
}

/** Where a reader puts each row: the block, `want`'s value, and whether it is an exception. */
export type RowSink = (cidr: string, str: string, excluded: boolean) => void;

/**
 * The reader of an ip4set text a line at a time, with the default value the
 * `:A:TXT` lines before it set: the host's file reader (rbldnsd-files.ts)
 * feeds it the lines of each chunk it reads, without the text whole.
 */
export class RbldnsdReader {
  private defaultA = DEFAULT_A;
  private defaultTxt = '';

  constructor(
    private readonly want: 'a' | 'txt',
    private readonly emit: RowSink,
  ) {}

  /** One line, with or without its CR. */
  line(raw: string): void {
    const line = raw.replace(/\r$/, '').trim();
    if (!line || line.startsWith('#') || line.startsWith(';') || line.startsWith('$')) return;
    if (line.startsWith(':')) {
      // :A:TXT sets the default value of the entries after it.
      const v = value(line, DEFAULT_A, '');
      this.defaultA = v.a;
      this.defaultTxt = v.txt;
      return;
    }
    const space = line.search(/\s/);
    const entry = space < 0 ? line : line.slice(0, space);
    const excluded = entry.startsWith('!');
    const found = blocks(excluded ? entry.slice(1) : entry);
    if (!found) return;
    const v = space < 0 ? { a: this.defaultA, txt: this.defaultTxt } : value(line.slice(space).trim(), this.defaultA, this.defaultTxt);
    const str = this.want === 'a' ? v.a : v.txt;
    for (const cidr of found) this.emit(cidr, str, excluded);
  }
}

/** The table an ip4set text makes, with `want`'s value of each entry: the text split in one step, for texts of a few lines. */
export function* rbldnsdRows(text: string, want: 'a' | 'txt'): Generator<RbldnsdRow, void, undefined> {
  const rows: RbldnsdRow[] = [];
  const reader = new RbldnsdReader(want, (cidr, str, excluded) => rows.push(excluded ? { cidr, str, excluded: true } : { cidr, str }));
  for (const raw of text.split('\n')) {
    reader.line(raw);
    yield* rows;
    rows.length = 0;
  }
}

/** `:A:TXT`, `:A`, `:A:` or a TXT alone; what is not given is the default's. */
function value(text: string, defaultA: string, defaultTxt: string): { a: string; txt: string } {
  if (!text.startsWith(':')) return { a: defaultA, txt: text };
  const second = text.indexOf(':', 1);
  const a = (second < 0 ? text.slice(1) : text.slice(1, second)).trim();
  return { a: a || defaultA, txt: second < 0 ? defaultTxt : text.slice(second + 1) };
}
