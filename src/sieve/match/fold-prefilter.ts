/**
 * A literal prefilter for case-insensitive regexes. re2js rejects most
 * inputs without running an engine when a pattern needs literal strings
 * that the input lacks (`spam[0-9]+` needs "spam": one indexOf), but it
 * builds that prefilter only for case-sensitive literals. The casemap
 * comparators compile patterns case-insensitively, so `body :raw :regex`
 * with a standard script's default comparator (i;ascii-casemap) ran the
 * DFA over the whole body for every key, where a Sieve++ script (i;octet by
 * default) got the indexOf: ten times slower on a 1 MB body.
 *
 * This gives case-insensitive patterns the same test. re2js derives the
 * needed literals from the pattern's structure (AND of a concatenation's
 * parts, OR of an alternation's), which case does not change: the literals
 * of the case-sensitive compilation, folded, must occur in the folded input
 * for the case-insensitive pattern to match. Folding is toLowerCase plus
 * U+017F (long s, which RE2's simple case folding puts with "s"; U+212A,
 * the Kelvin sign with "k", lower-cases to "k" already), and only literals
 * that are all ASCII are used: a letter outside ASCII may fold to more
 * characters than toLowerCase reaches. A skipped literal only makes the
 * test weaker, never wrong.
 */
import type { RE2JS } from 're2js';
import { re2js } from './re2.js';

/** A needed literal (folded), all of some, or one of some. */
export type FoldPrefilter = string | { all: FoldPrefilter[] } | { any: FoldPrefilter[] };

/** Inputs shorter than this go straight to the engine: its scan is as quick as folding them. */
export const FOLD_PREFILTER_MIN = 4096;
/** At most this many indexOf scans per test (re2js's own limit for an AND is 32). */
const MAX_SCANS = 16;

/** re2js's Prefilter (re2js is pinned): type 0 none, 1 exact `str`, 2 AND of `subs`, 3 OR of `subs`. */
interface Re2Prefilter {
  type: number;
  str: string;
  subs: Re2Prefilter[];
}

/**
 * The prefilter of a pattern compiled case-insensitively, or null when it
 * needs no literal this test can use (then the engine decides alone).
 */
export function foldPrefilter(pattern: string): FoldPrefilter | null {
  let exact: RE2JS;
  try {
    const { RE2JS } = re2js();
    exact = RE2JS.compile(pattern, RE2JS.LONGEST_MATCH);
  } catch {
    return null;
  }
  const scans = { left: MAX_SCANS };
  return convert(exact.re2().prefilter as Re2Prefilter | null, scans);
}

function convert(pf: Re2Prefilter | null, scans: { left: number }): FoldPrefilter | null {
  if (pf === null) return null;
  switch (pf.type) {
    case 1: {
      // eslint-disable-next-line no-control-regex
      if (!/^[\x00-\x7f]+$/.test(pf.str) || scans.left === 0) return null;
      scans.left--;
      return pf.str.toLowerCase();
    }
    case 2: {
      // Needed parts beyond the scan limit are dropped: the rest are still needed.
      const all = pf.subs.map((s) => convert(s, scans)).filter((s): s is FoldPrefilter => s !== null);
      return all.length === 0 ? null : all.length === 1 ? all[0]! : { all };
    }
    case 3: {
      // One alternative without a usable literal (or over the limit) and nothing is needed.
      const before = scans.left;
      const any: FoldPrefilter[] = [];
      for (const s of pf.subs) {
        const c = convert(s, scans);
        if (c === null) {
          scans.left = before;
          return null;
        }
        any.push(c);
      }
      return { any };
    }
    default:
      return null;
  }
}

/** The input as the prefilter's literals are folded (see the top of this file). */
export function foldInput(value: string): string {
  const lower = value.toLowerCase();
  return lower.includes('\u017f') ? lower.replaceAll('\u017f', 's') : lower;
}

/** Prefilters by pattern; the folded input of the value last seen, by match context (one run's). */
const prefilters = new Map<string, FoldPrefilter | null>();
const foldedBy = new WeakMap<object, { of: string; folded: string }>();

/**
 * False when `value` lacks what the case-insensitive `pattern` needs, so it
 * cannot match; true when it may. The folded value is kept for the next
 * test in the same run (`owner`, the run's match context): a list of keys
 * against one body folds the body once.
 */
export function caselessMayMatch(pattern: string, value: string, owner: object): boolean {
  if (value.length < FOLD_PREFILTER_MIN) return true;
  let pf = prefilters.get(pattern);
  if (pf === undefined) {
    if (prefilters.size > 2048) prefilters.clear();
    pf = foldPrefilter(pattern);
    prefilters.set(pattern, pf);
  }
  if (pf === null) return true;
  let seen = foldedBy.get(owner);
  if (seen?.of !== value) foldedBy.set(owner, (seen = { of: value, folded: foldInput(value) }));
  return mayMatch(pf, seen.folded);
}

/** False when the folded input lacks what the pattern needs: then the pattern cannot match. */
export function mayMatch(pf: FoldPrefilter, folded: string): boolean {
  if (typeof pf === 'string') return folded.includes(pf);
  if ('all' in pf) return pf.all.every((p) => mayMatch(p, folded));
  return pf.any.some((p) => mayMatch(p, folded));
}
