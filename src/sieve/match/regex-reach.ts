/**
 * How far a match of a compiled :regex pattern can reach, and which
 * zero-width assertions it makes, read from re2js's compiled program: what
 * windows-in-pieces.ts needs to match a body read in pieces in windows
 * that give the same answer as the whole body.
 *
 * A program is a graph of instructions from its start to MATCH; each rune
 * instruction reads one character (a code point: at most two UTF-16
 * units). The longest path in runes bounds every match's length; a cycle
 * that reads makes it unbounded, and any cycle is taken as one here. An
 * unbounded pattern none of whose runes reads a line break ("\n") still
 * matches within one line (`no such.*text`: RE2's `.` does not read one
 * without the `s` flag): windows cut at line breaks, which hold whole
 * lines, answer it, however long its matches. The
 * assertions (RE2's empty-width operations) need the characters beside
 * their position: `^` and `$` without the multi-line flag are the start
 * and end of the whole value, which no window can tell, so a pattern with
 * them is not matched in windows. The shape of the program (`prog.inst`,
 * `prog.start`, the instructions' `op`, `out` and `arg`) is re2js's own,
 * and re2js is pinned: a release that changes it is refused at the first
 * use, and patterns are then matched whole, as before.
 */
import type { RE2JS } from 're2js';

/**
 * What windows of a value need for a pattern: the longest match in UTF-16
 * units, and which edges its assertions read. A pattern whose matches lie
 * within one line, however long, needs windows cut at line breaks ('line')
 * and no overlap (0 units).
 */
export interface RegexReach {
  units: number;
  /** 'line': `^`/`$` in multi-line mode (and perhaps `\b`); 'word': `\b` or `\B` only; 'none': no assertion. */
  edges: 'none' | 'word' | 'line';
}

// re2js's instruction codes and empty-width flags (Inst and Utils in its source).
const ALT = 1;
const ALT_MATCH = 2;
const CAPTURE = 3;
const EMPTY_WIDTH = 4;
const FAIL = 5;
const MATCH = 6;
const NOP = 7;
const RUNE = 8;
const RUNE1 = 9;
const RUNE_ANY = 10;
const RUNE_ANY_NOT_NL = 11;
const NEWLINE = 10;
const BEGIN_LINE = 1;
const END_LINE = 2;
const BEGIN_TEXT = 4;
const END_TEXT = 8;

/** Programs past this many instructions are not read (the walk recurses once an instruction). */
const MAX_INSTRUCTIONS = 2_000;

interface Inst {
  op: number;
  out: number;
  arg: number;
  /** A rune instruction's characters: one (RUNE1, or RUNE of one), or ranges as lo, hi pairs. */
  runes?: ArrayLike<number>;
}

/** Whether a rune instruction can read a line break (for one it cannot tell: yes). */
function readsNewline(i: Inst): boolean {
  if (i.op === RUNE_ANY_NOT_NL) return false;
  const r = i.runes;
  if (i.op === RUNE_ANY || !r || typeof r.length !== 'number') return true;
  // A single character (case folding gives a line break no other).
  if (i.op === RUNE1 || r.length === 1) return r[0] === NEWLINE;
  for (let k = 0; k + 1 < r.length; k += 2) if (r[k]! <= NEWLINE && NEWLINE <= r[k + 1]!) return true;
  return false;
}

/** Reaches already read, by compiled pattern (patterns are compiled once and cached: regex-match.ts). */
const reaches = new WeakMap<RE2JS, RegexReach | null>();

/** The pattern's reach, or undefined when a match may be as long as the value or needs the value's ends. */
export function regexReach(re: RE2JS): RegexReach | undefined {
  let reach = reaches.get(re);
  if (reach === undefined) reaches.set(re, (reach = readReach(re) ?? null));
  return reach ?? undefined;
}

function readReach(re: RE2JS): RegexReach | undefined {
  const prog = (re.re2() as unknown as { prog?: { inst?: Inst[]; start?: number } }).prog;
  const inst = prog?.inst;
  if (!Array.isArray(inst) || typeof prog!.start !== 'number' || inst.length > MAX_INSTRUCTIONS) return undefined;
  let edges: RegexReach['edges'] = 'none';
  // Longest path in runes from each instruction to MATCH (-1: no path); ON_PATH marks a cycle.
  const ON_PATH = -2;
  const longest = new Map<number, number>();
  // A cycle makes matches unbounded; what the walk cannot read (or the value's own ends) rules windows out.
  let cycle = false;
  let unknown = false;
  let newline = false;
  const walk = (pc: number): number => {
    const known = longest.get(pc);
    if (known !== undefined) {
      if (known === ON_PATH) cycle = true;
      return known === ON_PATH ? -1 : known;
    }
    const i = inst[pc];
    if (!i || typeof i.op !== 'number') {
      unknown = true;
      return -1;
    }
    longest.set(pc, ON_PATH);
    let n: number;
    switch (i.op) {
      case MATCH:
        n = 0;
        break;
      case FAIL:
        n = -1;
        break;
      case ALT:
      case ALT_MATCH:
        n = Math.max(walk(i.out), walk(i.arg));
        break;
      case CAPTURE:
      case NOP:
        n = walk(i.out);
        break;
      case EMPTY_WIDTH:
        if (i.arg & (BEGIN_TEXT | END_TEXT)) unknown = true;
        else if (i.arg & (BEGIN_LINE | END_LINE)) edges = 'line';
        else if (edges === 'none') edges = 'word';
        n = walk(i.out);
        break;
      default: {
        // A rune instruction reads one character; anything else (lookbehinds: not compiled here) is not known.
        if (i.op < RUNE || i.op > RUNE_ANY_NOT_NL) {
          unknown = true;
          n = -1;
          break;
        }
        if (!newline && readsNewline(i)) newline = true;
        const rest = walk(i.out);
        n = rest < 0 ? -1 : rest + 1;
      }
    }
    longest.set(pc, n);
    return n;
  };
  const runes = walk(prog!.start!);
  if (unknown) return undefined;
  // Unbounded within a line: windows of whole lines (cut beside "\n", which `\b` and `^`/`$` read as a window's edge too).
  if (cycle) return newline ? undefined : { units: 0, edges: 'line' };
  // A pattern that never matches reaches nowhere: any window answers it.
  return { units: Math.max(0, runes) * 2, edges };
}
