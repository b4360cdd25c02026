/**
 * The bounded map the caches share (src/lru-map.ts) against a plain model:
 * any sequence of sets, gets, peeks and deletes. It never holds more than
 * its capacity, never answers with a value other than the last one set,
 * keeps everything while there is room, and drops a key only after at least
 * floor(capacity / 2) + 1 sets and hits since it was last used (each places at
 * most one entry at the end).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruMap } from '../../src/lru-map.js';

const ops = (keys: number) =>
  fc.array(
    fc.oneof(
      fc.record({ op: fc.constant('set' as const), key: fc.nat(keys), value: fc.integer() }),
      fc.record({ op: fc.constantFrom('get' as const, 'peek' as const, 'delete' as const), key: fc.nat(keys) }),
    ),
    { maxLength: 400 },
  );

describe('LruMap', () => {
  it('holds at most its capacity, answers the last value set, and drops only keys unused for half its capacity of uses', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 30 }).chain((k) => ops(k)), (capacity, steps) => {
        const lru = new LruMap<number, number>(capacity);
        /** The last value set for each key not deleted since. */
        const model = new Map<number, number>();
        /** How many sets and hits there had been when each key was last used. */
        const usedAt = new Map<number, number>();
        let uses = 0;
        for (const s of steps) {
          const present = lru.has(s.key);
          if (s.op === 'set') {
            lru.set(s.key, s.value);
            model.set(s.key, s.value);
            usedAt.set(s.key, ++uses);
          } else if (s.op === 'get') {
            expect(lru.get(s.key)).toBe(present ? model.get(s.key) : undefined);
            if (present) usedAt.set(s.key, ++uses);
          } else if (s.op === 'peek') {
            expect(lru.peek(s.key)).toBe(present ? model.get(s.key) : undefined);
          } else {
            expect(lru.delete(s.key)).toBe(present);
            model.delete(s.key);
          }
          for (const k of [...model.keys()]) {
            if (lru.has(k)) continue;
            // Dropped: only past capacity, and only after enough uses since its own.
            expect(model.size).toBeGreaterThan(capacity);
            expect(uses - usedAt.get(k)!).toBeGreaterThan(Math.floor(capacity / 2));
            model.delete(k);
          }
          expect(lru.size).toBe(model.size);
          expect(lru.size).toBeLessThanOrEqual(capacity);
          for (const [k, v] of lru.entries()) expect(model.get(k)).toBe(v);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('moves a key it finds only once half its capacity was placed since', () => {
    const lru = new LruMap<string, number>(4);
    for (const k of ['a', 'b', 'c', 'd']) lru.set(k, 1);
    // 'a' is the oldest, three placements old: half of 4 or more, so a hit moves it to the end.
    lru.get('a');
    expect([...lru.keys()]).toEqual(['b', 'c', 'd', 'a']);
    // 'd' is one placement old: a hit leaves it where it is.
    lru.get('d');
    expect([...lru.keys()]).toEqual(['b', 'c', 'd', 'a']);
    lru.set('e', 1);
    expect([...lru.keys()]).toEqual(['c', 'd', 'a', 'e']);
  });
});
