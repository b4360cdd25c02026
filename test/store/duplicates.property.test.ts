/**
 * RFC 7352's duplicate list, its two process-local forms (memory, and the
 * SQLite file), against a model of RFC 7352 3.3, over random records,
 * lookups and clock steps: both answer as the model does while within
 * their bounds, and neither, past its bound, ever calls an id seen that no
 * record keeps (a "true" out of nothing is what RFC 7352 3 forbids; a
 * missed duplicate is allowed).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuplicateRecord, type DuplicateStore, MemoryDuplicates } from '../../src/store/duplicates.js';
import { SqliteDuplicates } from '../../src/store/sqlite-duplicates.js';

/** RFC 7352 3.3 itself: an entry lapses `seconds` after its first record, or after the last test with :last. */
class Model {
  readonly expiries = new Map<string, number>();
  seen(id: string, now: number): boolean {
    return (this.expiries.get(id) ?? -Infinity) > now;
  }
  record(records: DuplicateRecord[], now: number): void {
    for (const r of records) if (r.last || (!r.duplicate && !this.seen(r.id, now))) this.expiries.set(r.id, now + r.seconds * 1000);
  }
}

/**
 * What a list that forgets may still know: every record that changes the
 * list (with :last, or of an id the test found new) keeps its id until
 * its period ends, the longest such period winning. A list past its bound
 * forgets an id, finds it new at its next test, and records it then with
 * a new period (RFC 7352 3.3 for an id it does not have), which Model, never
 * forgetting, does not: past the bound the list may call an id seen only
 * while such a record keeps it.
 */
class Recorded {
  readonly expiries = new Map<string, number>();
  seen(id: string, now: number): boolean {
    return (this.expiries.get(id) ?? -Infinity) > now;
  }
  record(records: DuplicateRecord[], now: number): void {
    for (const r of records) if (r.last || !r.duplicate) this.expiries.set(r.id, Math.max(this.expiries.get(r.id) ?? -Infinity, now + r.seconds * 1000));
  }
}

const step = fc.oneof(
  fc.record({
    kind: fc.constant('record' as const),
    records: fc.array(fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e'), seconds: fc.integer({ min: 1, max: 20 }), last: fc.boolean(), duplicate: fc.boolean() }), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('seen' as const), id: fc.constantFrom('a', 'b', 'c', 'd', 'e') }),
  fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 15_000 }) }),
);

let dir: string;
let files = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-duplicates-property-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function check(make: (now: () => number, bound: number) => DuplicateStore & { close?(): void }, bound: number) {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      let now = 1_000_000;
      const model = new Model();
      const recorded = new Recorded();
      const list = make(() => now, bound);
      try {
        for (const s of steps) {
          if (s.kind === 'tick') now += s.ms;
          else if (s.kind === 'record') {
            // A test's `duplicate` is what the list answered: the model's answer, as a run would have got it.
            const records = s.records.map((r) => ({ ...r, duplicate: r.duplicate && model.seen(r.id, now) }));
            list.record(records);
            model.record(records, now);
            recorded.record(records, now);
          } else {
            const got = list.seen(s.id) as boolean;
            if (bound >= 5) expect(got).toBe(model.seen(s.id, now));
            else if (got) expect(recorded.seen(s.id, now)).toBe(true);
          }
        }
      } finally {
        list.close?.();
      }
    }),
    { numRuns: 150 },
  );
}

describe('the duplicate list against RFC 7352 3.3', () => {
  it('in memory: answers as the model within its bound, and past it calls seen only what a record keeps', () => {
    check((now, bound) => new MemoryDuplicates(bound, now), 10);
    check((now, bound) => new MemoryDuplicates(bound, now), 2);
  });

  it('in its file: the same', () => {
    check((now, bound) => new SqliteDuplicates(join(dir, `p${++files}.sqlite`), undefined, now, bound), 10);
    check((now, bound) => new SqliteDuplicates(join(dir, `p${++files}.sqlite`), undefined, now, bound), 2);
  });
});
