/**
 * The match pool started ahead of need (src/sieve/match/match-pool.ts,
 * warm(); docs/sieve-interpreter.md, "What an offload costs"): a server
 * starts its threads once it listens, so no session's first large match
 * waits for one to start; warming twice starts no more, and a warmed idle
 * pool keeps no process alive (its threads are unreferenced).
 */
import { describe, expect, it } from 'vitest';
import { matchPool, prepare } from '../../src/sieve/match/match-pool.js';

type Slots = { slots: Set<{ ready: boolean }> };
const slots = () => (matchPool as unknown as Slots).slots;

describe('matchPool.warm()', () => {
  it('starts the threads before any match, once, and the first match finds one ready', async () => {
    expect(slots().size).toBe(0);
    matchPool.warm();
    const started = slots().size;
    expect(started).toBeGreaterThanOrEqual(2);
    matchPool.warm();
    expect(slots().size).toBe(started);
    while (![...slots()].every((s) => s.ready)) await new Promise((r) => setTimeout(r, 10));
    const a = await matchPool.match(prepare({ type: 'contains', comparator: 'i;octet', keys: ['papaya'], value: 'a papaya', wantCaptures: false }), 60_000);
    expect(a).toMatchObject({ kind: 'done', index: 0 });
    // No thread was started for it: the warmed ones took it.
    expect(slots().size).toBe(started);
  });
});
