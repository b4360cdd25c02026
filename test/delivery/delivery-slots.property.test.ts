/**
 * DeliverySlots (src/delivery/delivery-slots.ts) against random work: no
 * destination ever runs more than its limit, the server never more than its
 * own, every job runs once, each destination's in the order they came, and
 * the server's slots are used whenever work waits for them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeliverySlots } from '../../src/delivery/delivery-slots.js';

interface TestJob {
  key: string;
  n: number;
  ticks: number;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('DeliverySlots', () => {
  it('keeps every limit, runs each job once and in its line\'s order, and leaves no slot idle while work waits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), ticks: fc.integer({ min: 0, max: 3 }), afterTicks: fc.integer({ min: 0, max: 2 }) }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.record({ a: fc.integer({ min: 1, max: 3 }), b: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 1, max: 3 }), d: fc.integer({ min: 1, max: 3 }) }),
        async (plan, serverMax, limits) => {
          const running = new Map<string, number>();
          let total = 0;
          let worst = 0;
          const ran: TestJob[] = [];
          let idleWhileWaiting = 0;
          const slots = new DeliverySlots<TestJob>(async (job) => {
            ran.push(job);
            total++;
            running.set(job.key, (running.get(job.key) ?? 0) + 1);
            expect(running.get(job.key)).toBeLessThanOrEqual(limits[job.key as keyof typeof limits]);
            worst = Math.max(worst, total);
            for (let i = 0; i < job.ticks; i++) await tick();
            total--;
            running.set(job.key, running.get(job.key)! - 1);
          }, () => serverMax);
          const added: TestJob[] = [];
          for (const [n, step] of plan.entries()) {
            const job = { key: step.key, n, ticks: step.ticks };
            added.push(job);
            slots.add(job, job.key, limits[step.key as keyof typeof limits]);
            for (let i = 0; i < step.afterTicks; i++) {
              await tick();
              // Work that could run (its line under its limit) while server slots are free.
              const waiting = added.filter((j) => !ran.includes(j));
              if (total < serverMax && waiting.some((j) => (running.get(j.key) ?? 0) < limits[j.key as keyof typeof limits])) idleWhileWaiting++;
            }
          }
          for (let i = 0; ran.length < added.length && i < 1000; i++) await tick();
          await slots.stop(10_000);
          expect(worst).toBeLessThanOrEqual(serverMax);
          expect(ran.map((j) => j.n).sort((x, y) => x - y)).toEqual(added.map((j) => j.n));
          for (const key of ['a', 'b', 'c', 'd']) {
            const order = ran.filter((j) => j.key === key).map((j) => j.n);
            expect(order).toEqual([...order].sort((x, y) => x - y));
          }
          expect(idleWhileWaiting).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
