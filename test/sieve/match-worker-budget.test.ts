/**
 * What a match in the match worker costs the run (src/sieve/match/match-pool.ts;
 * docs/sieve-interpreter.md, "What an offload costs"): its round trip, from
 * the hand-off to the answer read on the event loop, which holds the
 * worker's own time and more; not a thread's start-up; and a run with less
 * left than such a round trip does not start one.
 *
 * No assertion depends on the machine's speed: the run-level test's work is
 * hundreds of matches over megabytes against a budget of 100 ms, a charge is
 * compared with the times it is made of, and a budget whose clock is stopped
 * has exactly what it was left.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { executeAsync } from '../../src/sieve/interpreter.js';
import { containsMatch } from '../../src/sieve/match/basic-match.js';
import { octet } from '../../src/sieve/match/comparators.js';
import { matchPool, OFFLOAD_CHARS, type PoolAnswer } from '../../src/sieve/match/match-pool.js';
import { runMatch } from '../../src/sieve/match/match-types.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import { CpuBudget } from '../../src/sieve/runtime/cpu-budget.js';
import { SieveRuntimeFailure } from '../../src/sieve/runtime/signals.js';
import { compiled } from './helpers.js';

const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };
const line = 'a banana and a papaya are a snack, said Anna at the data bazaar\r\n ';
const bigHeader = (size: number) => `From: joe@example.com\r\nX-Big: ${line.repeat(Math.ceil(size / line.length))}\r\n\r\nbody\r\n`;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('what an offload costs the run', () => {
  // First in this file: the process has no match thread yet.
  it('does not charge a thread\'s start-up to the run that first needs it', async () => {
    expect(matchPool.answers).toBe(0);
    // Starting a thread (loading the worker's code, here through tsx) takes
    // hundreds of milliseconds; the match itself, a few. It used to count
    // against the deadline, and this run failed with the budget error.
    const script = compiled('require "body"; if body :raw :contains "papaya are" { discard; }');
    const message = `From: joe@example.com\r\n\r\n${line.repeat(Math.ceil(OFFLOAD_CHARS / line.length) + 10)}`;
    const r = await executeAsync(script, { message: parseMessage(message), envelope }, {}, { limits: { maxCpuMs: 250 } });
    expect(r.errors).toEqual([]);
    expect(r.actions.map((a) => a.type)).toEqual(['discard']);
    expect(matchPool.answers).toBe(1);
  });

  it('stops a run of many offloads at its budget, each charged its round trip', async () => {
    const spent = vi.spyOn(CpuBudget.prototype, 'spend');
    const sent = vi.spyOn(matchPool, 'match');
    // What one such match costs on this machine now (a loaded machine takes longer): the budget fits a few of them.
    const one = compiled('require ["regex", "variables"]; if header :matches "x-big" "*" { if string :regex "${1}" "(snack|bazaar)x" { discard; } }');
    const first = await executeAsync(one, { message: parseMessage(bigHeader(4 << 20)), envelope }, {}, { limits: { maxSteps: 1e9 } });
    const budget = Math.max(100, Math.ceil(4 * first.runtime.budget.usedMs));
    spent.mockClear();
    sent.mockClear();
    // 500 matches over 4 MB each: whatever the machine, the budget ends first.
    const tests = 'if string :regex "${1}" "(snack|bazaar)x" { discard; } '.repeat(500);
    const script = compiled(`require ["regex", "variables"]; if header :matches "x-big" "*" { ${tests} }`);
    const r = await executeAsync(script, { message: parseMessage(bigHeader(4 << 20)), envelope }, {}, { limits: { maxCpuMs: budget, maxSteps: 1e9 } });
    expect(r.errors.map((e) => e.message)).toEqual([`execution exceeded the CPU time limit of ${budget} ms`]);
    expect(r.actions).toEqual([]);
    // It stopped at the end of an offload or cancelled it: nothing is left running for it.
    expect(matchPool.running).toBe(0);
    const answers = await Promise.all(sent.mock.results.map((x) => x.value as Promise<PoolAnswer>));
    const done = answers.filter((a) => a.kind === 'done');
    expect(done.length).toBeGreaterThan(1);
    expect(done.length).toBeLessThan(500);
    const charged = spent.mock.calls.map(([ms]) => ms);
    for (const a of done) {
      // The round trip: the worker's time, and the hand-off beyond it.
      expect(a.ms).toBeGreaterThanOrEqual(a.workerMs);
      expect(charged).toContain(a.ms);
    }
    const offloads = answers.reduce((sum, a) => sum + (a.kind === 'unavailable' ? 0 : a.ms), 0);
    expect(r.runtime.budget.usedMs).toBeGreaterThanOrEqual(offloads);
  });

  it('does not start an offload the run cannot afford', async () => {
    const value = line.repeat(Math.ceil(OFFLOAD_CHARS / line.length) + 10);
    const ctx = (budget: CpuBudget) => ({ cmp: octet, wantCaptures: false, budget });
    const sliced = (maxMs: number) => Object.assign(new CpuBudget(maxMs), { sliceMs: 2 });
    // One offload of a value this long, so the pool knows what one costs.
    const first = sliced(60_000);
    await expect(runMatch(containsMatch, [value], ['no such thing'], ctx(first))).resolves.toEqual({ matched: false });
    const kind = { type: 'contains', comparator: 'i;octet', keys: ['no such thing'] };
    expect(matchPool.leastCostMs(value.length, kind)).toBeGreaterThan(0);
    // What one match cost says nothing of another's (an expensive regex of one session must not refuse another's cheap one).
    expect(matchPool.leastCostMs(value.length, { ...kind, keys: ['another key'] })).toBe(0);
    // A run with a nanosecond left: its clock is stopped, so that is what it has when it asks.
    const budget = sliced(1000);
    budget.suspend();
    budget.spend(budget.remainingMs - 1e-6);
    const sent = vi.spyOn(matchPool, 'match');
    const r = runMatch(containsMatch, [value], ['no such thing'], ctx(budget));
    await expect(r).rejects.toBeInstanceOf(SieveRuntimeFailure);
    await expect(r).rejects.toThrow('execution exceeded the CPU time limit of 1000 ms');
    expect(sent).not.toHaveBeenCalled();
  });
});
