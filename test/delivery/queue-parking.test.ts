/**
 * ParkedEntries (src/delivery/queue-parking.ts): deferred entries parked
 * until their due time wake once each, in due-time order, never before it,
 * at most 32 at a time; an entry woken early (an operator command) or
 * parked again wakes only as it now is.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ParkedEntry, ParkedEntries } from '../../src/delivery/queue-parking.js';
import type { EntryState } from '../../src/delivery/queue-entry.js';

const state = (id: string): EntryState => ({
  header: { v: 1, id, kind: 'message', from: 'a@b.test', recipients: [{ address: 'c@d.test' }], receivedAt: 0, size: 0 },
  recipients: [{ address: 'c@d.test', state: 'deferred', attempts: 1, next: 0 }],
  deleted: false,
  commands: new Set(),
});

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => vi.useRealTimers());

describe('parked entries', () => {
  it('wake once each, in due-time order, never early; those taken out before are not woken (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ delay: fc.nat(10_000), early: fc.boolean() }), { minLength: 1, maxLength: 80 }), async (plan) => {
        vi.setSystemTime(1_000_000);
        const woke: Array<{ id: string; at: number; now: number }> = [];
        let inFlight = 0;
        let most = 0;
        const parked = new ParkedEntries(async (e: ParkedEntry) => {
          most = Math.max(most, ++inFlight);
          woke.push({ id: e.id, at: e.at, now: Date.now() });
          await Promise.resolve();
          parked.unpark(e);
          inFlight--;
        });
        plan.forEach((p, i) => parked.park(`e${i}`, 1_000_000 + p.delay, state(`e${i}`)));
        for (const [i, p] of plan.entries()) if (p.early) expect(parked.unpark(parked.get(`e${i}`)!)).toBe(true);
        await vi.advanceTimersByTimeAsync(20_000);
        const expected = plan.flatMap((p, i) => (p.early ? [] : [`e${i}`]));
        expect(woke.map((w) => w.id).sort()).toEqual(expected.sort());
        for (const w of woke) expect(w.now).toBeGreaterThanOrEqual(w.at);
        for (let i = 1; i < woke.length; i++) expect(woke[i]!.at).toBeGreaterThanOrEqual(woke[i - 1]!.at);
        expect(most).toBeLessThanOrEqual(32);
        expect(parked.size).toBe(0);
        parked.stop();
      }),
      { numRuns: 40 },
    );
  });

  it('an entry parked again wakes at its new time, once', async () => {
    const woke: number[] = [];
    const parked = new ParkedEntries(async (e) => {
      woke.push(Date.now());
      parked.unpark(e);
    });
    parked.park('x', Date.now() + 1000, state('x'));
    parked.unpark(parked.get('x')!);
    parked.park('x', Date.now() + 5000, state('x'));
    await vi.advanceTimersByTimeAsync(2000);
    expect(woke).toEqual([]);
    await vi.advanceTimersByTimeAsync(4000);
    expect(woke).toEqual([1_005_000]);
    parked.stop();
  });

  it('a backlog due at once wakes 32 at a time, each batch when the one before has read its files', async () => {
    let open = 0;
    let most = 0;
    const release: Array<() => void> = [];
    const parked = new ParkedEntries(
      (e) =>
        new Promise<void>((resolve) => {
          most = Math.max(most, ++open);
          release.push(() => {
            open--;
            parked.unpark(e);
            resolve();
          });
        }),
    );
    for (let i = 0; i < 100; i++) parked.park(`e${i}`, Date.now() + 10, state(`e${i}`));
    await vi.advanceTimersByTimeAsync(20);
    expect(open).toBe(32);
    while (release.length) {
      release.shift()!();
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(most).toBe(32);
    expect(parked.size).toBe(0);
    parked.stop();
  });
});
