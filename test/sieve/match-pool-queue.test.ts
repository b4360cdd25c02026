/**
 * A match waiting for a thread holds no copy of its value
 * (src/sieve/match/match-pool.ts, PreparedTask; docs/sieve-interpreter.md,
 * "What an offload costs"): with every thread busy, each session reading a
 * large body used to queue a copy of it that no memory budget counted.
 */
import { describe, expect, it } from 'vitest';
import { matchPool, prepare } from '../../src/sieve/match/match-pool.js';

type Slots = { slots: Set<{ ready: boolean }> };
const slots = () => (matchPool as unknown as Slots).slots;
const MB = 1 << 20;

describe('the match pool queue', () => {
  it('keeps the values of waiting tasks as the strings they are, copying each when a thread takes it', async () => {
    matchPool.warm();
    while (![...slots()].every((s) => s.ready)) await new Promise((r) => setTimeout(r, 10));
    // Every thread busy (a pool has at most four): a linear-time regex over 2 MB takes a while in each.
    const busy = Array.from({ length: 4 }, () => matchPool.match(prepare({ type: 'regex', comparator: 'i;octet', keys: ['(x|y)+z'], value: 'x'.repeat(2 * MB), wantCaptures: false }), 60_000));
    const before = process.memoryUsage().arrayBuffers;
    const values = Array.from({ length: 8 }, (_, i) => `${'a'.repeat(4 * MB)}${i}`);
    const waiting = values.map((value) => matchPool.match(prepare({ type: 'contains', comparator: 'i;octet', keys: ['papaya'], value, wantCaptures: false }), 60_000));
    // Eight values of 4 MB wait: copied when queued, they held 32 MB of buffers.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * MB);
    for (const a of await Promise.all([...busy, ...waiting])) expect(a).toMatchObject({ kind: 'done', index: -1 });
  }, 120_000);
});
