/**
 * The :regex match type (draft-murchison-sieve-regex-08), on re2js: a
 * linear-time engine, so no user pattern can make matching go exponential.
 * POSIX extended regular expressions have leftmost-longest semantics, which
 * RE2's LONGEST_MATCH mode gives. The comparator decides case: i;octet is
 * case-sensitive, the casemap comparators are not (draft section 3).
 */
import type { RE2JS } from 're2js';
import { re2js } from './re2.js';
import { caselessMayMatch } from './fold-prefilter.js';
import type { Comparator } from './comparators.js';
import type { MatchBudget, MatchContext, MatchType } from './match-types.js';

/** Compiled patterns by pattern text: case-insensitive ones, i;octet's, and leftmost-first ones (perlRegexMatch). */
const caseless = new Map<string, RE2JS | string>();
const exact = new Map<string, RE2JS | string>();
const leftmostFirst = new Map<string, RE2JS | string>();

/** The budget a match in progress charges (set only while re2js runs, which is synchronous). */
let charging: MatchBudget | undefined;

/** re2js steps between charges, and what such a batch costs in budget units (a step can be many NFA threads). */
const STEP_BATCH = 128;
const BATCH_UNITS = STEP_BATCH * 8;
/** Inputs up to this many characters are not counted step by step. */
const LONG_INPUT = 2048;

/**
 * re2js is linear in the input, but with a large pattern the constant is
 * large: `a.{20}x` over 5 MB of random a/b text takes many seconds (its
 * lazy DFA runs out of states, bench/ab-text.ts). Every engine (DFA, NFA,
 * backtracker, one-pass) reads its input through the input's `step`, once
 * per character; counting those calls charges the run's CPU budget from
 * inside the match, so a single match cannot outrun it. `executeEngine` and
 * `step` are re2js's own (declared in its typings), and re2js is pinned.
 */
function instrument(re: RE2JS): RE2JS {
  const engine = re.re2() as { executeEngine: (input: { step(pos: number): number; endPos(): number }, pos: unknown, anchor: unknown, ncap: unknown, lbState: unknown) => unknown };
  const run = engine.executeEngine;
  engine.executeEngine = function (input, pos, anchor, ncap, lbState) {
    const charge = charging;
    // A short input is charged by the match loop (its length) and done in
    // microseconds: only long ones are worth counting step by step.
    if (charge && input.endPos() > LONG_INPUT) {
      const step = input.step;
      let n = 0;
      input.step = function (pos) {
        if (++n === STEP_BATCH) {
          n = 0;
          charge.charge(BATCH_UNITS);
        }
        return step.call(this, pos);
      };
    }
    return run.call(this, input, pos, anchor, ncap, lbState);
  };
  return re;
}

/** The compiled pattern, or the reason it does not compile. */
export function compileRegex(pattern: string, cmp: Comparator): RE2JS | string {
  return compiledIn(isCaseless(cmp) ? caseless : exact, pattern, (R) => R.LONGEST_MATCH | (isCaseless(cmp) ? R.CASE_INSENSITIVE : 0));
}

/** A pattern with Perl's leftmost-first semantics, case-sensitive (perlRegexMatch), or the reason it does not compile. */
export function compilePerlRegex(pattern: string): RE2JS | string {
  return compiledIn(leftmostFirst, pattern, () => 0);
}

function compiledIn(cache: Map<string, RE2JS | string>, pattern: string, flags: (R: ReturnType<typeof re2js>['RE2JS']) => number): RE2JS | string {
  let r = cache.get(pattern);
  if (r === undefined) {
    if (cache.size > 2048) cache.clear();
    try {
      const { RE2JS } = re2js();
      r = instrument(RE2JS.compile(pattern, flags(RE2JS)));
    } catch (e) {
      r = `invalid regular expression '${pattern}': ${(e as Error).message}`;
    }
    cache.set(pattern, r);
  }
  return r;
}

const isCaseless = (cmp: Comparator) => cmp.name !== 'i;octet';

export const regexMatch: MatchType = {
  name: 'regex',
  captures: true,
  offload: true,
  // RFC 4790: :regex works on the comparator's character view; i;ascii-numeric has none.
  substring: true,
  checkKey(key, cmp) {
    const r = compileRegex(key, cmp);
    return typeof r === 'string' ? r : null;
  },
  matchOne(value, key, ctx) {
    const re = compileRegex(key, ctx.cmp);
    if (typeof re === 'string') {
      ctx.warn?.(re);
      return false;
    }
    // re2js's literal prefilter skips case-insensitive literals; this one does not (fold-prefilter.ts).
    if (isCaseless(ctx.cmp) && !caselessMayMatch(key, value, ctx)) return false;
    return chargedMatch(re, value, ctx, () => (isCaseless(ctx.cmp) ? caseless : exact).delete(key));
  },
};

/**
 * One match of a compiled pattern, charged to ctx.budget step by step: the
 * groups (whole match first, '' for a group that took no part) or false.
 */
function chargedMatch(re: RE2JS, value: string, ctx: MatchContext, forget: () => void): boolean | string[] {
  charging = ctx.budget;
  try {
    // Without captures, re2js's test() takes its DFA, far faster than the
    // matcher's capturing engines; the answer is the same.
    if (!ctx.wantCaptures) return re.test(value);
    // One capturing pass over the value. re2js's Matcher would make two
    // (the match's bounds, then its groups); RE2's own matchWithGroup
    // gives the bounds of every group at once, in UTF-16 offsets.
    const groups = re.groupCount();
    const [found, at] = re.re2().matchWithGroup(value, 0, value.length, re2js().RE2Set.UNANCHORED, 1 + groups) as [boolean, number[]];
    if (!found) return false;
    const out: string[] = [];
    for (let i = 0; i <= groups; i++) out.push(at[2 * i]! < 0 ? '' : value.slice(at[2 * i], at[2 * i + 1]));
    return out;
  } catch (e) {
    // Stopped in the middle of a match: do not reuse engine state it may have left half-built.
    forget();
    throw e;
  } finally {
    charging = undefined;
  }
}

/**
 * Regular expressions as Perl (and PCRE) read them: leftmost-first, every
 * group, case-sensitive, for functions such as Momentum's ec_pcre_match
 * (sieve-ref-ec-pcre-match.md). Not a Sieve match type (no tag names it);
 * it is one so that a match over a large value is charged and offloaded
 * as :regex's is (match-types.ts runMatch, match-pool.ts).
 */
export const perlRegexMatch: MatchType = {
  name: 'x-perl-regex',
  captures: true,
  offload: true,
  substring: true,
  checkKey(key) {
    const r = compilePerlRegex(key);
    return typeof r === 'string' ? r : null;
  },
  matchOne(value, key, ctx) {
    const re = compilePerlRegex(key);
    if (typeof re === 'string') {
      ctx.warn?.(re);
      return false;
    }
    return chargedMatch(re, value, ctx, () => leftmostFirst.delete(key));
  },
};

/** RFC-draft section 5: :quoteregex escapes every character special in a regex. */
export const quoteRegex = (s: string): string => s.replace(/[\\.*+?^$[\](){}|]/g, '\\$&');
