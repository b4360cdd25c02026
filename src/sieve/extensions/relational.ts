/**
 * RFC 5231: the :value and :count match types with a relational operator.
 * :value orders each value against each key with the comparator; :count
 * compares the number of values with the keys (section 4).
 */
import { type MatchContext, relationHolds, type MatchType } from '../match/match-types.js';
import type { Extension } from '../registry.js';

export const valueMatch: MatchType = {
  name: 'value',
  relational: true,
  matchOne: (value, key, ctx) => relationHolds(ctx, value, key),
};

/** :count's answer for `n` values: the count against each key, with the comparator and the operator (RFC 5231 4.2). */
export function countHolds(n: number, keys: readonly string[], ctx: MatchContext): boolean {
  const count = String(n);
  return keys.some((k) => relationHolds(ctx, count, k));
}

export const countMatch: MatchType = {
  name: 'count',
  relational: true,
  matchAll: (values, keys, ctx) => countHolds(values.length, keys, ctx),
};

export const relational: Extension = {
  capability: 'relational',
  matchTypes: [valueMatch, countMatch],
};
