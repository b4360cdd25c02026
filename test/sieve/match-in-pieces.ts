/**
 * What the tests of matching a value read in pieces share
 * (contains-in-pieces.ts, in-order-in-pieces.ts): a value cut into pieces,
 * and a time-sliced run watched for the turns it gives the event loop.
 */
import { expect } from 'vitest';
import { CpuBudget } from '../../src/sieve/runtime/cpu-budget.js';

/** `value` in pieces, cut at each of `cuts` (taken modulo its length plus one). */
export async function* piecesOf(value: string, cuts: number[]): AsyncGenerator<string> {
  let from = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (value.length + 1)))].sort((a, b) => a - b)) {
    yield value.slice(from, cut);
    from = cut;
  }
  yield value.slice(from);
}

/** Runs `scan` with a budget of 1 ms slices; it must answer `expected`, yield at least once, and let a timer run meanwhile. */
export async function yieldsInSlices(scan: (budget: CpuBudget) => Promise<boolean>, expected: boolean): Promise<void> {
  const budget = new CpuBudget(60_000);
  budget.sliceMs = 1;
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  try {
    expect(await scan(budget)).toBe(expected);
  } finally {
    clearInterval(timer);
  }
  expect(budget.slices).toBeGreaterThan(0);
  expect(ticks).toBeGreaterThan(0);
}
