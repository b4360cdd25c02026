import { describe, expect, it } from 'vitest';
import { CpuBudget } from '../../src/sieve/runtime/runtime.js';
import { noteCollection } from '../../src/sieve/runtime/wait-collections.js';

describe('collections while a run waits', () => {
  it('charges the run for a collection that began while it waited, and not for one outside its waits', () => {
    const budget = new CpuBudget(1_000_000);
    budget.suspend();
    const during = performance.now();
    budget.resume();
    const before = budget.usedMs;
    // V8 reports a collection after it ran: one of 40 ms in the wait, one of 30 ms while the run computed.
    noteCollection(during, 40);
    noteCollection(performance.now() + 1_000, 30);
    budget.check();
    const charged = budget.usedMs - before;
    expect(charged).toBeGreaterThanOrEqual(40);
    expect(charged).toBeLessThan(70);
    // Each collection is charged once.
    const again = budget.usedMs;
    budget.check();
    expect(budget.usedMs - again).toBeLessThan(30);
  });

  it('stops a run whose waits held its collections past the budget', () => {
    const budget = new CpuBudget(50);
    budget.suspend();
    const during = performance.now();
    budget.resume();
    noteCollection(during, 60);
    expect(() => budget.check()).toThrow(/CPU time limit of 50 ms/);
  });

  it('charges nothing to a run that never waited', () => {
    const budget = new CpuBudget(50);
    noteCollection(performance.now(), 60);
    expect(() => budget.check()).not.toThrow();
  });
});
