/**
 * Momentum's per-IP series across cluster workers without Redis
 * (src/store/cluster-counters.ts): an event one worker records is counted
 * by another, and a worker whose primary does not answer counts its own.
 */
import { describe, expect, it } from 'vitest';
import { ClusterCounterStore, CounterTally } from '../../src/store/cluster-counters.js';
import { PrimaryChannel } from '../../src/store/primary-channel.js';
import type { CounterQuery } from '../../src/sievepp/counters.js';
import { linkToPrimary } from '../helpers/primary-link.js';

const now = Date.UTC(2026, 0, 1);
const query = (ip: string, mask = 32): CounterQuery => ({ series: 'receptions', monitor: { window: 60, windows: 5 }, ip, mask, periodStart: 0, periodEnd: 4, now });

describe('per-IP series counted in the primary', () => {
  it("counts every worker's events, by block, and keeps a dead worker's", async () => {
    const tally = new CounterTally();
    const a = linkToPrimary(1, (w, m) => tally.handle(w, m));
    const b = linkToPrimary(2, (w, m) => tally.handle(w, m));
    const storeA = new ClusterCounterStore(a.channel);
    const storeB = new ClusterCounterStore(b.channel);
    storeA.add('receptions', '192.0.2.1', 2, now);
    storeB.add('receptions', '192.0.2.7', 1, now - 30_000);
    storeB.add('receptions', '198.51.100.1', 5, now);
    expect(await storeA.count(query('192.0.2.1'))).toBe(2);
    expect(await storeB.count(query('192.0.2.1', 24))).toBe(3);
    // Events happened: a worker's death does not take them back.
    a.cut();
    expect(await storeB.count(query('192.0.2.200', 24))).toBe(3);
  });

  it('counts its own events when the primary does not answer', async () => {
    const silent = new ClusterCounterStore(new PrimaryChannel({ connected: true, send: () => true, on: () => undefined }));
    silent.add('receptions', '192.0.2.1', 4, now);
    expect(await silent.count(query('192.0.2.1'))).toBe(4);
  });
});
