/**
 * How far a match of a compiled :regex pattern can reach, and which
 * zero-width assertions it makes, read from re2js's compiled program: what
 * windows-in-pieces.ts needs to match a body read in pieces in windows
 * that give the same answer as the whole body.
 *
 * A program is a graph of instructions from its start to MATCH; each rune
 * instruction reads one character (a code point: at most two UTF-16
 * units). Without a cycle, the longest path in runes bounds every match's
 * length. With one (`*`, `+`, `{n,}`), a match is as long as it likes, but
 * it is still made of two kinds of characters: those the runes in cycles
 * read (the repeats), any number of them, and at most `fixed` others, one
 * for each rune outside every cycle on its path. So a match that runs back
 * from a place in the value holds no character that no rune reads (a
 * barrier: a line break for `no such.*text`, as RE2's `.` reads none
 * without the `s` flag), nor more than `fixed` characters the repeats do
 * not read (the letters around `\s+` in `buy\s+now`). That tells how far
 * back the next window must begin (windows-in-pieces.ts); a pattern whose
 * repeats read every character (`(?s).*`) has no such place, and is
 * matched whole. The
 * assertions (RE2's empty-width operations) need the characters beside
 * their position: `^` and `$` without the multi-line flag are the start
 * and end of the whole value, which no window can tell, so a pattern with
 * them is not matched in windows. The shape of the program (`prog.inst`,
 * `prog.start`, the instructions' `op`, `out`, `arg` and `runes`) is
 * re2js's own, and re2js is pinned: a release that changes it is refused
 * at the first use, and patterns are then matched whole, as before.
 */
import type { RE2JS } from 're2js';
import { CharSet } from './char-set.js';

/**
 * What windows of a value need for a pattern: the longest match in UTF-16
 * units (0 for one with repeats), which edges its assertions read, and for
 * a pattern with repeats what its matches are made of (Repeats).
 */
export interface RegexReach {
  units: number;
  /** 'line': `^`/`$` in multi-line mode (and perhaps `\b`); 'word': `\b` or `\B` only; 'none': no assertion. */
  edges: 'none' | 'word' | 'line';
  /** One for each key with repeats (a test's keys together: regexWindows in body.ts). */
  repeats?: Repeats[];
}

/** The characters a match of a pattern with repeats can hold. */
export interface Repeats {
  /** What the runes in cycles read: a match holds any number of these. */
  loops: CharSet;
  /** What any rune reads: a match holds no other character. */
  reads: CharSet;
  /** How many characters outside `loops` a match holds at most: the runes outside every cycle on its longest path. */
  fixed: number;
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
const RUNE_ANY_NOT_NL = 11;
/** A rune instruction's `arg`: its character in every case (re2js's RE2Flags.FOLD_CASE). */
const FOLD_CASE = 1;
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
  /** A rune instruction's characters: one (RUNE1, or RUNE of one), or ranges as lo, hi pairs (RUNE_ANY's and RUNE_ANY_NOT_NL's too). */
  runes?: ArrayLike<number>;
}

/** Adds what a rune instruction reads to `set`; one whose characters cannot be told reads them all. */
function addReads(set: CharSet, i: Inst): void {
  const r = i.runes;
  if (!r || typeof r.length !== 'number' || r.length === 0) return set.addAll();
  set.addRunes(r, i.op === RUNE1 || r.length === 1, (i.arg & FOLD_CASE) !== 0);
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
    if (i.op === EMPTY_WIDTH) {
      if (i.arg & (BEGIN_TEXT | END_TEXT)) unknown = true;
      else if (i.arg & (BEGIN_LINE | END_LINE)) edges = 'line';
      else if (edges === 'none') edges = 'word';
    } else if (!isRune(i) && !CONTROL.has(i.op)) {
      // A rune instruction reads one character; anything else (lookbehinds: not compiled here) is not known.
      unknown = true;
      longest.set(pc, -1);
      return -1;
    }
    // The longest way on to MATCH, from here or through what this instruction goes on to; a rune reads one more.
    let rest = i.op === MATCH ? 0 : -1;
    for (const to of next(i)) rest = Math.max(rest, walk(to));
    const n = isRune(i) && rest >= 0 ? rest + 1 : rest;
    longest.set(pc, n);
    return n;
  };
  const runes = walk(prog!.start!);
  if (unknown) return undefined;
  if (cycle) {
    const repeats = repeatsOf(inst, prog!.start!);
    // Repeats that read every character leave no place a match cannot run back over.
    return repeats.loops.full ? undefined : { units: 0, edges, repeats: [repeats] };
  }
  // A pattern that never matches reaches nowhere: any window answers it.
  return { units: Math.max(0, runes) * 2, edges };
}

/** Instructions that read nothing and assert nothing: they only lead on (or end). */
const CONTROL: ReadonlySet<number> = new Set([ALT, ALT_MATCH, CAPTURE, NOP, MATCH, FAIL]);
const isRune = (i: Inst): boolean => i.op >= RUNE && i.op <= RUNE_ANY_NOT_NL;

/** What an instruction goes on to. */
function next(i: Inst): number[] {
  if (i.op === ALT || i.op === ALT_MATCH) return [i.out, i.arg];
  if (i.op === MATCH || i.op === FAIL) return [];
  return [i.out];
}

/**
 * The runes in cycles and what they read, what every rune reads, and the
 * most runes outside cycles on a path from `start` to MATCH (Repeats), for
 * a program that readReach has walked whole: every instruction it reaches
 * is known. Cycles are the strongly connected components (Tarjan's
 * algorithm) of more than one instruction, or of one that goes on to
 * itself.
 */
function repeatsOf(inst: Inst[], start: number): Repeats {
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const component = new Map<number, number>();
  const stack: number[] = [];
  const onStack = new Set<number>();
  const members: number[][] = [];
  let counter = 0;
  const strong = (pc: number): void => {
    index.set(pc, counter);
    low.set(pc, counter++);
    stack.push(pc);
    onStack.add(pc);
    for (const to of next(inst[pc]!)) {
      if (!index.has(to)) {
        strong(to);
        low.set(pc, Math.min(low.get(pc)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(pc, Math.min(low.get(pc)!, index.get(to)!));
    }
    if (low.get(pc) !== index.get(pc)) return;
    const c: number[] = [];
    let w: number;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.set(w, members.length);
      c.push(w);
    } while (w !== pc);
    members.push(c);
  };
  strong(start);
  const inCycle = (pc: number) => members[component.get(pc)!]!.length > 1 || next(inst[pc]!).includes(pc);
  const loops = new CharSet();
  const reads = new CharSet();
  for (const pc of index.keys()) {
    const i = inst[pc]!;
    if (!isRune(i)) continue;
    addReads(reads, i);
    if (inCycle(pc)) addReads(loops, i);
  }
  // The most runes outside cycles from each component to MATCH (-1: MATCH not reached); components come
  // out of Tarjan's algorithm after every component they go on to, so one pass in that order does.
  const most: number[] = [];
  for (let c = 0; c < members.length; c++) {
    let best = -1;
    let weight = 0;
    for (const pc of members[c]!) {
      const i = inst[pc]!;
      if (i.op === MATCH) best = Math.max(best, 0);
      if (isRune(i) && !inCycle(pc)) weight++;
      for (const to of next(i)) {
        const d = component.get(to)!;
        if (d !== c) best = Math.max(best, most[d]!);
      }
    }
    most.push(best < 0 ? -1 : best + weight);
  }
  return { loops, reads, fixed: Math.max(0, most[component.get(start)!]!) };
}
