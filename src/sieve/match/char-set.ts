/**
 * A set of characters (code points) read from re2js's rune instructions,
 * for regex-reach.ts: ASCII in a table, the rest as ranges. It may hold
 * more than the instructions read, never less: a folded rune (case
 * insensitive) is taken to read every character outside ASCII, since its
 * other cases can lie anywhere (k: K, and U+212A KELVIN SIGN).
 */
export class CharSet {
  private readonly ascii = new Uint8Array(128);
  /** Ranges outside ASCII, as lo, hi pairs (inclusive). */
  private readonly wide: number[] = [];
  /** Every character outside ASCII is in the set. */
  private allWide = false;

  /** Adds a rune instruction's characters: `runes` one character, or lo, hi pairs; `fold`: its other cases too. */
  addRunes(runes: ArrayLike<number>, single: boolean, fold: boolean): void {
    if (single) this.addRange(runes[0]!, runes[0]!, fold);
    else for (let k = 0; k + 1 < runes.length; k += 2) this.addRange(runes[k]!, runes[k + 1]!, fold);
  }

  addAll(): void {
    this.ascii.fill(1);
    this.allWide = true;
  }

  private addRange(lo: number, hi: number, fold: boolean): void {
    for (let c = lo; c <= Math.min(hi, 127); c++) {
      this.ascii[c] = 1;
      if (fold) this.ascii[caseOf(c)] = 1;
    }
    if (hi >= 128) this.wide.push(Math.max(lo, 128), hi);
    if (fold) this.allWide = true;
  }

  has(c: number): boolean {
    if (c < 128) return this.ascii[c] === 1;
    if (this.allWide) return true;
    const w = this.wide;
    for (let k = 0; k < w.length; k += 2) if (w[k]! <= c && c <= w[k + 1]!) return true;
    return false;
  }

  /** Every character is in the set. */
  get full(): boolean {
    if (!this.ascii.every((x) => x === 1)) return false;
    if (this.allWide) return true;
    // The ranges outside ASCII, in order, leave no gap up to the last code point.
    const ranges: Array<[number, number]> = [];
    for (let k = 0; k < this.wide.length; k += 2) ranges.push([this.wide[k]!, this.wide[k + 1]!]);
    ranges.sort((a, b) => a[0] - b[0]);
    let covered = 127;
    for (const [lo, hi] of ranges) {
      if (lo > covered + 1) return false;
      covered = Math.max(covered, hi);
    }
    return covered >= MAX_CODE_POINT;
  }
}

const MAX_CODE_POINT = 0x10ffff;

/** An ASCII letter's other case; any other character itself. */
function caseOf(c: number): number {
  if (c >= 65 && c <= 90) return c + 32;
  if (c >= 97 && c <= 122) return c - 32;
  return c;
}
