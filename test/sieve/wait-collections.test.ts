import { describe, expect, it } from 'vitest';
import { CpuBudget } from '../../src/sieve/runtime/cpu-budget.js';
import { noteCollection } from '../../src/sieve/runtime/wait-collections.js';

/** Yields a slice, noting the time in the middle of the turn it lets go. */
async function yieldSlice(budget: CpuBudget): Promise<number> {
  let during = 0;
  setImmediate(() => (during = performance.now()));
  await budget.pause();
  return during;
}

describe('collections in the turns a run yields', () => {
  it('charges the run for a collection that began in a turn it yielded, once, and not for one while it computed', async () => {
    const budget = new CpuBudget(1_000_000);
    const during = await yieldSlice(budget);
    const before = budget.usedMs;
    // V8 reports a collection after it ran: one of 40 ms in the turn, one of 30 ms while the run computed.
    noteCollection(during, 40);
    noteCollection(performance.now() + 1_000, 30);
    budget.check();
    const charged = budget.usedMs - before;
    expect(charged).toBeGreaterThanOrEqual(40);
    expect(charged).toBeLessThan(70);
    const again = budget.usedMs;
    budget.check();
    expect(budget.usedMs - again).toBeLessThan(30);
  });

  it('stops a run whose yielded turns held its collections past the budget', async () => {
    const budget = new CpuBudget(50);
    noteCollection(await yieldSlice(budget), 60);
    expect(() => budget.check()).toThrow(/CPU time limit of 50 ms/);
  });

  it('charges nothing for a wait on the host (a CBV probe can take seconds of other sessions\' collections)', async () => {
    const budget = new CpuBudget(50);
    budget.suspend();
    const during = performance.now();
    await new Promise((r) => setTimeout(r, 5));
    budget.resume();
    noteCollection(during, 60);
    expect(() => budget.check()).not.toThrow();
  });
});
