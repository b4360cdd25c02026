/**
 * The core match types of RFC 5228 2.7.1: :is, :contains, :matches.
 */
import type { Comparator } from './comparators.js';
import { type Glob, matchGlob, parseGlob } from './glob.js';
import type { KeyMatcher, MatchContext, MatchType } from './match-types.js';

export const isMatch: MatchType = {
  name: 'is',
  matchOne: (value, key, ctx) => ctx.cmp.equals(value, key),
  compileKey(key, cmp): KeyMatcher {
    if (!cmp.foldEquals) return (value) => cmp.equals(value, key);
    const fold = cmp.fold!;
    const folded = fold(key);
    return (value, ctx) => value === key || foldedOnce(value, fold, ctx) === folded;
  },
};

export const containsMatch: MatchType = {
  name: 'contains',
  substring: true,
  offload: true,
  matchOne: (value, key, ctx) => {
    const fold = ctx.cmp.fold!;
    return foldedOnce(value, fold, ctx).includes(fold(key));
  },
  compileKey(key, cmp): KeyMatcher {
    const fold = cmp.fold!;
    const folded = fold(key);
    return (value, ctx) => foldedOnce(value, fold, ctx).includes(folded);
  },
};

/**
 * A list of keys is matched against one value after the other
 * (match-types.ts): the value is folded once per list, not once per key
 * (a large body against many keys above all). The last fold is kept in the
 * run's match context.
 */
function foldedOnce(value: string, fold: (s: string) => string, ctx: MatchContext): string {
  if (ctx.foldFrom === value && ctx.foldBy === fold) return ctx.folded!;
  const folded = fold(value);
  ctx.foldFrom = value;
  ctx.foldBy = fold;
  ctx.folded = folded;
  ctx.foldedChars = undefined;
  return folded;
}

const SURROGATE = /[\ud800-\udfff]/;

// Keys are usually constants: parse each (comparator, key) pair once.
const globCache = new Map<Comparator, Map<string, Glob>>();
function globFor(key: string, cmp: Comparator): Glob {
  let byKey = globCache.get(cmp);
  if (!byKey) globCache.set(cmp, (byKey = new Map()));
  let g = byKey.get(key);
  if (!g) {
    if (byKey.size > 4096) byKey.clear();
    g = parseGlob(key, cmp.fold!);
    byKey.set(key, g);
  }
  return g;
}

export const matchesMatch: MatchType = {
  name: 'matches',
  substring: true,
  captures: true,
  offload: true,
  matchOne: (value, key, ctx) => globMatch(globFor(key, ctx.cmp), value, ctx),
  compileKey(key, cmp): KeyMatcher {
    const g = parseGlob(key, cmp.fold!);
    return (value, ctx) => globMatch(g, value, ctx);
  },
};

function globMatch(g: Glob, value: string, ctx: MatchContext): boolean | string[] {
  const folded = foldedOnce(value, ctx.cmp.fold!, ctx);
  // Strings index by UTF-16 unit; only text with surrogate pairs needs splitting into characters.
  const chars = ctx.foldedChars ??= SURROGATE.test(folded) ? Array.from(folded) : folded;
  // Captures come from the original text unless folding changed its length.
  const original = folded === value ? chars : SURROGATE.test(value) ? Array.from(value) : value;
  const r = matchGlob(g, chars, original.length === chars.length ? original : chars, ctx.wantCaptures);
  if (r === null) return false;
  return ctx.wantCaptures ? [value, ...r] : true;
}
