/**
 * RFC 5231: the :value and :count match types with a relational operator.
 * :value orders each value against each key with the comparator; :count
 * compares the number of values with the keys (section 4).
 */
import { relationalHolds, type MatchType } from '../match/match-types.js';
import type { Extension } from '../registry.js';

const valueMatch: MatchType = {
  name: 'value',
  relational: true,
  matchOne: (value, key, ctx) => relationalHolds(ctx.op!, ctx.cmp.compare(value, key)),
};

const countMatch: MatchType = {
  name: 'count',
  relational: true,
  matchAll: (values, keys, ctx) => {
    const n = String(values.length);
    return keys.some((k) => relationalHolds(ctx.op!, ctx.cmp.compare(n, k)));
  },
};

export const relational: Extension = {
  capability: 'relational',
  matchTypes: [valueMatch, countMatch],
};
