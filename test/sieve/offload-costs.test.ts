/**
 * What recent offloads cost, by what they matched (src/sieve/match/offload-costs.ts):
 * one kind of match's round trips say nothing of another's, so an
 * expensive pattern cannot make a cheap one look unaffordable.
 */
import { describe, expect, it } from 'vitest';
import { matchKind, OffloadCosts } from '../../src/sieve/match/offload-costs.js';

const regex = (keys: string[]) => matchKind({ type: 'regex', comparator: 'i;octet', keys });

describe('offload costs by kind of match', () => {
  it('estimates a kind from its own recent round trips, and no kind it has not seen', () => {
    const costs = new OffloadCosts();
    const slow = regex(['a.{20}x']);
    const fast = regex(['papaya']);
    costs.record(fast, 1e-5);
    for (let i = 0; i < 8; i++) costs.record(slow, 1e-2);
    expect(costs.leastMs(1e6, slow)).toBeCloseTo(1e4);
    expect(costs.leastMs(1e6, fast)).toBeCloseTo(10);
    expect(costs.leastMs(1e6, regex(['banana']))).toBe(0);
    // Without a kind (an address test's offload): the cheapest of any.
    expect(costs.leastMs(1e6)).toBeCloseTo(10);
    expect(new OffloadCosts().leastMs(1e6)).toBe(0);
  });

  it('keeps the last eight round trips of a kind', () => {
    const costs = new OffloadCosts();
    const kind = regex(['x']);
    for (let i = 0; i < 8; i++) costs.record(kind, 1e-5);
    for (let i = 0; i < 8; i++) costs.record(kind, 1e-3);
    expect(costs.leastMs(1000, kind)).toBeCloseTo(1);
  });

  it('tells kinds apart by match type, comparator and keys', () => {
    const kinds = new Set([
      matchKind({ type: 'regex', comparator: 'i;octet', keys: ['a', 'b'] }),
      matchKind({ type: 'regex', comparator: 'i;octet', keys: ['a\u0000b'] }),
      matchKind({ type: 'contains', comparator: 'i;octet', keys: ['a', 'b'] }),
      matchKind({ type: 'regex', comparator: 'i;ascii-casemap', keys: ['a', 'b'] }),
    ]);
    expect(kinds.size).toBe(4);
  });

  it('forgets the kind heard of longest ago past 256 kinds', () => {
    const costs = new OffloadCosts();
    for (let i = 0; i < 257; i++) costs.record(regex([`k${i}`]), 1e-5);
    expect(costs.leastMs(1000, regex(['k0']))).toBe(0);
    expect(costs.leastMs(1000, regex(['k1']))).toBeGreaterThan(0);
    // Heard of again, a kind is the newest.
    costs.record(regex(['k1']), 1e-5);
    costs.record(regex(['k257']), 1e-5);
    expect(costs.leastMs(1000, regex(['k1']))).toBeGreaterThan(0);
    expect(costs.leastMs(1000, regex(['k2']))).toBe(0);
  });
});
