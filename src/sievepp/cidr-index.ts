/**
 * The look-up index of a CIDR table (sieve-ref-cidrdb.md: query_cidr and
 * check_cidr find the most specific block holding an address). A scan of
 * every block took some 26 ms a look-up over 438,000 blocks (a country or
 * ASN table): the index answers in O(log n).
 *
 * CIDR blocks of one family are either nested or disjoint, so the address
 * space splits into segments in each of which one block is the most
 * specific: the blocks sorted by first address (the larger first when two
 * start together) are swept once with a stack of the blocks still open,
 * and each segment keeps its first address and its block. A look-up is a
 * binary search for the last segment starting at or below the address.
 * IPv4 addresses are numbers, IPv6 addresses bigints.
 *
 * The answer is the linear scan's (cidr.ts, `scanTable`), which the
 * property tests check: among the blocks holding the address the one with
 * the longest prefix, the first in the table of those with the same. A
 * block parsed from an IPv4-mapped IPv6 block keeps its IPv6 prefix length
 * (`::ffff:10.0.0.0/104`, an IPv4 block "/104"): it holds the addresses of
 * its first min(length, 32) bits and ranks by its length.
 *
 * The build is a generator that stops after every STEP units of work, so
 * that define_cidr can build the index of a large table in the
 * interpreter's time slices (docs/sieve-interpreter.md, "CPU budget and time
 * slices"); buildCidrIndexNow runs it in one go for small tables.
 */
import type Ipaddr from 'ipaddr.js';

/** Units of work (a comparison, a block moved or swept) between two stops of the build. */
export const STEP = 4096;

/** One family's segments: segment i runs from starts[i] to starts[i + 1] - 1; winners[i] is its entry's index, -1 for none. */
interface Segments<K> {
  starts: ArrayLike<K>;
  winners: Int32Array;
}

export interface CidrIndex {
  v4: Segments<number>;
  v6: Segments<bigint>;
}

/** A block as the index needs it: its family, parts (octets or 16-bit groups) and prefix length. */
export interface IndexedBlock {
  block: readonly [Ipaddr.IPv4 | Ipaddr.IPv6, number];
}

/** What the build needs to know of a family's numbers. */
interface Family<K> {
  kind: 'ipv4' | 'ipv6';
  bits: number;
  zero: K;
  /** The address's number. */
  value(parts: readonly number[]): K;
  /** The first and last address of the block of `len` bits holding `v`. */
  range(v: K, len: number): [K, K];
  next(v: K): K;
  /** An array of n of them. */
  array(n: number): { [i: number]: K };
  /** The first n of them, as the index keeps them. */
  slice(a: { [i: number]: K }, n: number): ArrayLike<K>;
}

const V4: Family<number> = {
  kind: 'ipv4',
  bits: 32,
  zero: 0,
  value: (o) => o[0]! * 0x1000000 + ((o[1]! << 16) | (o[2]! << 8) | o[3]!),
  range(v, len) {
    const size = 2 ** (32 - len);
    const start = v - (v % size);
    return [start, start + size - 1];
  },
  next: (v) => v + 1,
  array: (n) => new Float64Array(n),
  slice: (a, n) => (a as Float64Array).slice(0, n),
};

const V6: Family<bigint> = {
  kind: 'ipv6',
  bits: 128,
  zero: 0n,
  value(p) {
    let v = 0n;
    for (const x of p) v = (v << 16n) | BigInt(x);
    return v;
  },
  range(v, len) {
    const size = 1n << BigInt(128 - len);
    const start = v & ~(size - 1n);
    return [start, start + size - 1n];
  },
  next: (v) => v + 1n,
  array: (n) => new Array<bigint>(n),
  slice: (a, n) => (a as bigint[]).slice(0, n),
};

const partsOf = (a: Ipaddr.IPv4 | Ipaddr.IPv6): number[] => (a.kind() === 'ipv4' ? (a as Ipaddr.IPv4).octets : (a as Ipaddr.IPv6).parts);

/** The segments of one family's blocks. */
function* segmentsOf<K extends number | bigint>(entries: readonly IndexedBlock[], f: Family<K>): Generator<void, Segments<K>> {
  // The family's blocks: first and last address, prefix length (for the order) and entry, in arrays made
  // at their size once it is counted (typed for IPv4): growing arrays of 438,000 items copies them in single steps.
  const n = entries.length;
  let count = 0;
  let work = 0;
  for (let i = 0; i < n; i++) {
    if (entries[i]!.block[0].kind() === f.kind) count++;
    if (++work >= STEP) {
      work = 0;
      yield;
    }
  }
  const starts = f.array(count);
  const ends = f.array(count);
  const lens = new Uint8Array(count);
  const ids = new Uint32Array(count);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const [addr, len] = entries[i]!.block;
    if (addr.kind() === f.kind) {
      const [start, end] = f.range(f.value(partsOf(addr)), Math.min(len, f.bits));
      starts[m] = start;
      ends[m] = end;
      lens[m] = len;
      ids[m++] = i;
    }
    // Counted for the blocks of the other family too: a table of one family is all skipped in the other's pass.
    if (++work >= STEP / 8) {
      work = 0;
      yield;
    }
  }
  // Sorted by first address, then the larger block (the shorter prefix) first; among blocks of the same
  // addresses the one that wins comes first: the longer prefix (a mapped block's), then the first in the table.
  const before = (a: number, b: number): boolean =>
    starts[a]! !== starts[b]! ? starts[a]! < starts[b]! : ends[a]! !== ends[b]! ? ends[a]! > ends[b]! : lens[a] !== lens[b] ? lens[a]! > lens[b]! : ids[a]! < ids[b]!;
  const order = yield* mergeSort(m, before);
  // The sweep: `open` holds the blocks holding the current address, innermost last. A block opens a
  // segment and closes one at most: 2m + 1 segments at most, made at that size (no growing in one step).
  const segStarts = f.array(2 * m + 1);
  const segWinners = new Int32Array(2 * m + 1);
  segStarts[0] = f.zero;
  segWinners[0] = -1;
  let last = 0;
  const emit = (at: K, w: number) => {
    if (segStarts[last] === at) {
      segWinners[last] = w;
      if (last > 0 && segWinners[last - 1] === w) last--;
    } else if (segWinners[last] !== w) {
      segStarts[++last] = at;
      segWinners[last] = w;
    }
  };
  const open: number[] = [];
  const close = () => {
    const top = open.pop()!;
    emit(f.next(ends[top]!), open.length ? ids[open[open.length - 1]!]! : -1);
  };
  let previous = -1;
  for (let k = 0; k < order.length; k++) {
    const b = order[k]!;
    // The same addresses as the block before it, which wins: nothing to add.
    if (previous >= 0 && starts[b] === starts[previous] && ends[b] === ends[previous]) continue;
    previous = b;
    while (open.length && ends[open[open.length - 1]!]! < starts[b]!) close();
    emit(starts[b]!, ids[b]!);
    open.push(b);
    if (++work >= STEP) {
      work = 0;
      yield;
    }
  }
  while (open.length) close();
  return { starts: f.slice(segStarts, last + 1), winners: segWinners.slice(0, last + 1) };
}

/**
 * The order of `n` items by `before` (a strict total order), a bottom-up
 * merge sort that stops every STEP comparisons; a table already in order
 * (country and ASN lists usually are) costs one pass.
 */
function* mergeSort(n: number, before: (a: number, b: number) => boolean): Generator<void, Uint32Array> {
  let src = new Uint32Array(n);
  for (let i = 0; i < n; i++) src[i] = i;
  let work = 0;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) {
    sorted = before(i - 1, i);
    if (++work >= STEP) {
      work = 0;
      yield;
    }
  }
  if (sorted) return src;
  let dst = new Uint32Array(n);
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      for (let k = lo; k < hi; k++) {
        dst[k] = i < mid && (j >= hi || !before(src[j]!, src[i]!)) ? src[i++]! : src[j++]!;
        if (++work >= STEP) {
          work = 0;
          yield;
        }
      }
    }
    [src, dst] = [dst, src];
  }
  return src;
}

/** Builds the index of a table's blocks, stopping every STEP units of work. */
export function* buildCidrIndex(entries: readonly IndexedBlock[]): Generator<void, CidrIndex> {
  const v4 = yield* segmentsOf(entries, V4);
  const v6 = yield* segmentsOf(entries, V6);
  return { v4, v6 };
}

/** The index built in one go. */
export function buildCidrIndexNow(entries: readonly IndexedBlock[]): CidrIndex {
  const build = buildCidrIndex(entries);
  for (;;) {
    const r = build.next();
    if (r.done) return r.value;
  }
}

/** The index of the entry holding `addr` most specifically, -1 for none. */
export function findInIndex(index: CidrIndex, addr: Ipaddr.IPv4 | Ipaddr.IPv6): number {
  return addr.kind() === 'ipv4' ? search(index.v4, V4.value(partsOf(addr))) : search(index.v6, V6.value(partsOf(addr)));
}

/** The winner of the last segment starting at or below `key` (the first segment starts at zero). */
function search<K extends number | bigint>({ starts, winners }: Segments<K>, key: K): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid]! <= key) lo = mid;
    else hi = mid - 1;
  }
  return winners[lo]!;
}
