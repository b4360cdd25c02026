/**
 * What any two ThrottleStores standing for one throttle's counters must
 * show, whatever keeps them in common (a primary for workers,
 * cluster-throttles.ts; Redis for servers, redis-throttles.ts): one count
 * for both, a second create changing nothing, and no throttle for a name
 * neither created; and tarpits that keep to the rate.
 */
import { expect } from 'vitest';
import type { ThrottleStore } from '../../src/sievepp/throttles.js';

export async function expectOneCount(a: ThrottleStore, b: ThrottleStore): Promise<void> {
  a.create('t', { messages: 2, seconds: 60 }, 0);
  // Answered after a's create is in: a's and b's lines (two connections, two IPC channels) keep no order between them.
  expect(await a.exceeded('t', 0)).toBe(false);
  b.create('t', { messages: 50, seconds: 60 }, 0); // a create of a throttle that exists changes nothing
  expect(await a.inc('t', 1)).toBe(true);
  expect(await b.inc('t', 2)).toBe(true);
  expect(await a.exceeded('t', 3)).toBe(false);
  expect(await b.inc('t', 4)).toBe(true);
  expect(await a.exceeded('t', 5)).toBe(true);
  expect(await b.dec('t', 6)).toBe(true);
  expect(await a.exceeded('t', 7)).toBe(false);
  expect([await b.inc('none', 0), await b.exceeded('none', 0), await b.tarpit('none', 0)]).toEqual([false, undefined, undefined]);
}

/**
 * Counts each tarpitted message in the window it was let go in (`now` plus
 * its wait) and expects no window to have more than `messages`.
 */
export function windowTally(rate: { messages: number; seconds: number }) {
  const perWindow = new Map<number, number>();
  return {
    let(now: number, wait: number | undefined): void {
      expect(wait).toBeGreaterThanOrEqual(0);
      const window = Math.floor((now + wait!) / (rate.seconds * 1000));
      perWindow.set(window, (perWindow.get(window) ?? 0) + 1);
    },
    expectWithinRate(): void {
      for (const n of perWindow.values()) expect(n).toBeLessThanOrEqual(rate.messages);
    },
  };
}
