/**
 * rbldnsd's data (rbldnsd(8), "ip4set Dataset", "ip6trie Dataset",
 * "ip6tset Dataset"), as define_cidr reads it with `dstype` "rbldnsd"
 * (sieve-ref-cidrdb.md): each entry an IPv4 address or range, or an IPv6
 * prefix (rbldnsd-ip6.ts), with an optional value, as the rows of a table
 * with the columns `cidr` and `str` (the page's example names them so).
 *
 *   1.2.3.4            one address; 1.2.3, 1.2 and 1 are the /24, /16, /8
 *   10.0.0.0/8         a block
 *   1.2.3.4-1.2.3.9    a range (1.2.3.4-9 too): the blocks that cover it
 *   !1.2.3.5           an exception: not listed, inside a listed block
 *   1.2.3.4 :127.0.0.3:Listed, see $   an entry's own A value and TXT
 *   1.2.3.4 Listed     a TXT alone, with the default A value
 *   1.2.3.4:127.0.0.3: the value at once after an IPv4 entry
 *   1.2.3.4 ; a note   a comment after an entry: the default value
 *   2001:db8::/32 :127.0.0.3:Listed    IPv6, the value after white space
 *   2001:db8:1:2       a /64 (16 bits a group written); ::1 a /128
 *   :127.0.0.2:Spam source             the default A and TXT of the entries after it
 *   # a comment, ; a comment, $SOA ... and the other $ lines: skipped
 *
 * `want` "a" gives each entry's A value as `str`, "txt" its TXT (the
 * query's `?want=`). The A value is 127.0.0.2 unless set. A line that
 * does not read is skipped, as rbldnsd skips it with a warning.
 */

import { ip6Entry, looksIp6 } from './rbldnsd-ip6.js';

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
 * rbldnsd's dataset types a file may be read as (rbldnsd(8), "DATASET
 * TYPES AND FORMATS"); none, both families as Momentum's cidrdb reads an
 * rbldnsd file (4/lua/ref-msys-cidr-define.md).
 */
export const DATASET_TYPES = ['ip4set', 'ip6trie', 'ip6tset'] as const;
export type DatasetType = (typeof DATASET_TYPES)[number];

/** An IPv4 entry: the run of digits, dots, `/` and `-`, then the end, white space, a comment or the `:` of a value. */
const IP4_ENTRY = /^([0-9./-]+)(?=$|[\s#;:])/;

/**
 * The reader of an rbldnsd text a line at a time, with the default value
 * the `:A:TXT` lines before it set: the host's file reader
 * (rbldnsd-files.ts) feeds it the lines of each chunk it reads, without
 * the text whole. Without a dataset type an entry is IPv6 when it reads as
 * one and its first character that is not a decimal digit is a `:` or a
 * hex letter (rbldnsd-ip6.ts), else IPv4 (`10:127.0.0.2:` is 10/8 with a
 * value); `ip4set` reads IPv4 entries alone, `ip6trie` IPv6 ones alone,
 * and `ip6tset` /64 entries of four groups and /128 exceptions, all with
 * the value of the file's first `:A:TXT` line, as rbldnsd reads these.
 */
export class RbldnsdReader {
  private defaultA = DEFAULT_A;
  private defaultTxt = '';
  /** ip6tset: the entries (their value is the first default line's, wherever it is), and whether that line was read. */
  private readonly tset: Array<{ cidr: string; excluded: boolean }> = [];
  private tsetDefault = false;

  constructor(
    private readonly want: 'a' | 'txt',
    private readonly emit: RowSink,
    private readonly type?: DatasetType,
  ) {}

  /** One line, with or without its CR. */
  line(raw: string): void {
    const line = raw.replace(/\r$/, '').trim();
    if (!line || line.startsWith('#') || line.startsWith(';') || line.startsWith('$')) return;
    // `::1` is an address: a default line starts with one colon (rbldnsd(8), "ip6trie Dataset").
    if (line.startsWith(':') && !line.startsWith('::')) {
      if (this.type === 'ip6tset' && this.tsetDefault) return;
      // :A:TXT sets the default value of the entries after it.
      const v = value(line, DEFAULT_A, '');
      this.defaultA = v.a;
      this.defaultTxt = v.txt;
      this.tsetDefault = true;
      return;
    }
    const excluded = line.startsWith('!');
    // rbldnsd allows white space between the `!` and the address.
    const entry = excluded ? line.slice(1).trimStart() : line;
    const found = this.entry(entry, excluded);
    if (!found) return;
    if (this.type === 'ip6tset') {
      this.tset.push({ cidr: found.cidrs[0]!, excluded });
      return;
    }
    const rest = found.rest.trim();
    // A comment after the entry leaves it the default value (rbldnsd(8), "ip4set Dataset": `127/8 ; loopback network`).
    const v = rest === '' || rest.startsWith('#') || rest.startsWith(';') ? { a: this.defaultA, txt: this.defaultTxt } : value(rest, this.defaultA, this.defaultTxt);
    const str = this.want === 'a' ? v.a : v.txt;
    for (const cidr of found.cidrs) this.emit(cidr, str, excluded);
  }

  /** The end of the text: an ip6tset's entries, with the value its first default line gave. */
  finish(): void {
    const str = this.want === 'a' ? this.defaultA : this.defaultTxt;
    for (const e of this.tset) this.emit(e.cidr, str, e.excluded);
    this.tset.length = 0;
  }

  /** The blocks an entry names and the text after it, in the family its look and the dataset type allow. */
  private entry(entry: string, excluded: boolean): { cidrs: string[]; rest: string } | undefined {
    const type = this.type;
    if (type !== 'ip4set' && (type !== undefined || looksIp6(entry))) {
      const six = ip6Entry(entry);
      // ip6tset: an entry is a /64 of four groups, an exception an address (rbldnsd(8), "ip6tset Dataset").
      if (six && (type !== 'ip6tset' || (!six.slash && six.written === (excluded ? 128 : 64)))) return { cidrs: [six.cidr], rest: six.rest };
      if (type !== undefined) return undefined;
    }
    if (type !== undefined && type !== 'ip4set') return undefined;
    const m = IP4_ENTRY.exec(entry);
    const cidrs = m ? blocks(m[1]!) : undefined;
    return cidrs ? { cidrs, rest: entry.slice(m![0].length) } : undefined;
  }
}

/** The table an rbldnsd text makes, with `want`'s value of each entry: the text split in one step, for texts of a few lines. */
export function* rbldnsdRows(text: string, want: 'a' | 'txt', type?: DatasetType): Generator<RbldnsdRow, void, undefined> {
  const rows: RbldnsdRow[] = [];
  const reader = new RbldnsdReader(want, (cidr, str, excluded) => rows.push(excluded ? { cidr, str, excluded: true } : { cidr, str }), type);
  for (const raw of text.split('\n')) {
    reader.line(raw);
    yield* rows;
    rows.length = 0;
  }
  reader.finish();
  yield* rows;
}

/** `:A:TXT`, `:A`, `:A:` or a TXT alone; what is not given is the default's. */
function value(text: string, defaultA: string, defaultTxt: string): { a: string; txt: string } {
  if (!text.startsWith(':')) return { a: defaultA, txt: text };
  const second = text.indexOf(':', 1);
  const a = (second < 0 ? text.slice(1) : text.slice(1, second)).trim();
  return { a: a || defaultA, txt: second < 0 ? defaultTxt : text.slice(second + 1) };
}
