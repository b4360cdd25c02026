/**
 * The :regex match type (draft-murchison-sieve-regex-08), on re2js: a
 * linear-time engine, so no user pattern can make matching go exponential.
 * POSIX extended regular expressions have leftmost-longest semantics, which
 * RE2's LONGEST_MATCH mode gives. The comparator decides case: i;octet is
 * case-sensitive, the casemap comparators are not (draft section 3).
 */
import { RE2JS } from 're2js';
import type { Comparator } from './comparators.js';
import type { MatchType } from './match-types.js';

const cache = new Map<string, RE2JS | string>();

/** The compiled pattern, or the reason it does not compile. */
export function compileRegex(pattern: string, cmp: Comparator): RE2JS | string {
  const icase = cmp.name !== 'i;octet';
  const id = `${icase ? 'i' : 'o'}\0${pattern}`;
  let r = cache.get(id);
  if (r === undefined) {
    if (cache.size > 2048) cache.clear();
    try {
      r = RE2JS.compile(pattern, RE2JS.LONGEST_MATCH | (icase ? RE2JS.CASE_INSENSITIVE : 0));
    } catch (e) {
      r = `invalid regular expression '${pattern}': ${(e as Error).message}`;
    }
    cache.set(id, r);
  }
  return r;
}

export const regexMatch: MatchType = {
  name: 'regex',
  captures: true,
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
    const m = re.matcher(value);
    if (!m.find()) return false;
    if (!ctx.wantCaptures) return true;
    const out: string[] = [];
    for (let i = 0; i <= m.groupCount(); i++) out.push(m.group(i) ?? '');
    return out;
  },
};

/** RFC-draft section 5: :quoteregex escapes every character special in a regex. */
export const quoteRegex = (s: string): string => s.replace(/[\\.*+?^$[\](){}|]/g, '\\$&');
