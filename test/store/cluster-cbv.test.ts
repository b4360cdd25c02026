/**
 * The CBV verdict cache and per-domain probe limits across cluster workers
 * without Redis (src/store/cluster-cbv.ts), over in-memory channels: a
 * verdict one worker learnt answers another, the limits count every
 * worker's probes, a dead worker's leases go with it, and a worker whose
 * primary does not answer falls back to its own state.
 */
import { describe, expect, it } from 'vitest';
import { type CacheEntry, MemoryStore } from '../../src/cbv/cache.js';
import type { DomainLimits } from '../../src/cbv/shared.js';
import { CbvTally, ClusterCbvStore, ClusterLimits } from '../../src/store/cluster-cbv.js';
import { PrimaryChannel } from '../../src/store/primary-channel.js';
import { linkToPrimary } from '../helpers/primary-link.js';

let clock = Date.UTC(2026, 0, 1);
const now = () => clock;
const entry = (expiresIn: number): CacheEntry => ({ reason: 'accepted', stage: 'rcpt', message: '250 ok', storedAt: clock, expiresAt: clock + expiresIn });
const limits = (l: Partial<DomainLimits> = {}): DomainLimits => ({ maxConcurrentPerDomain: 10, ratePerDomain: 10, rateWindowMs: 60_000, leaseTtlMs: 30_000, ...l });

function workers(tally: CbvTally) {
  const a = linkToPrimary(1, (w, m) => tally.handle(w, m));
  const b = linkToPrimary(2, (w, m) => tally.handle(w, m));
  return { a, b };
}

describe('CBV state kept in the primary', () => {
  it('answers one worker with the verdict another learnt, until it expires', async () => {
    const tally = new CbvTally(100, now);
    const { a, b } = workers(tally);
    const storeA = new ClusterCbvStore(new MemoryStore(100, now), a.channel, now);
    const storeB = new ClusterCbvStore(new MemoryStore(100, now), b.channel, now);
    await storeA.set('alice@example.test', entry(60_000));
    expect((await storeB.get('alice@example.test'))?.reason).toBe('accepted');
    expect(await storeB.get('bob@example.test')).toBeUndefined();
    await storeA.delete('alice@example.test');
    const storeC = new ClusterCbvStore(new MemoryStore(100, now), b.channel, now);
    expect(await storeC.get('alice@example.test')).toBeUndefined();
    await storeA.set('carol@example.test', entry(1000));
    clock += 2000;
    expect(await storeC.get('carol@example.test')).toBeUndefined();
  });

  it('counts the per-domain rate and concurrency over every worker; a dead worker gives its leases back', async () => {
    const tally = new CbvTally(100, now);
    const { a, b } = workers(tally);
    const limitsA = new ClusterLimits(a.channel);
    const limitsB = new ClusterLimits(b.channel);
    const rate = limits({ ratePerDomain: 2 });
    expect((await limitsA.tryAcquire('forged.test', rate))?.ok).toBe(true);
    expect((await limitsB.tryAcquire('forged.test', rate))?.ok).toBe(true);
    expect(await limitsA.tryAcquire('forged.test', rate)).toEqual({ ok: false, why: 'domain-rate' });
    expect((await limitsA.tryAcquire('other.test', rate))?.ok).toBe(true);

    const one = limits({ maxConcurrentPerDomain: 1 });
    const held = await limitsA.tryAcquire('busy.test', one);
    expect(held?.ok).toBe(true);
    expect(await limitsB.tryAcquire('busy.test', one)).toEqual({ ok: false, why: 'domain-concurrency' });
    if (held?.ok) held.release();
    expect((await limitsB.tryAcquire('busy.test', one))?.ok).toBe(true);
    // Worker b dies holding busy.test's lease: it is free at once, not after its time to live.
    b.cut();
    tally.forget(2);
    expect((await limitsA.tryAcquire('busy.test', one))?.ok).toBe(true);
  });

  it('lets a lease lapse after its time to live, and forgets domains with nothing left', async () => {
    const tally = new CbvTally(100, now);
    const { a } = workers(tally);
    const l = new ClusterLimits(a.channel);
    const one = limits({ maxConcurrentPerDomain: 1, leaseTtlMs: 1000, rateWindowMs: 1000 });
    expect((await l.tryAcquire('lapsing.test', one))?.ok).toBe(true);
    expect((await l.tryAcquire('lapsing.test', one))?.ok).toBe(false);
    clock += 1500;
    expect((await l.tryAcquire('lapsing.test', one))?.ok).toBe(true);
    for (let i = 0; i < 1000; i++) await l.tryAcquire(`one-off-${i}.test`, one);
    clock += 5000;
    for (let i = 0; i < 1000; i++) await l.tryAcquire('steady.test', limits({ ratePerDomain: 1_000_000, maxConcurrentPerDomain: 1_000_000 }));
    expect(tally.domainCount).toBeLessThan(10);
  });

  it("falls back to the worker's own state when the primary does not answer", async () => {
    const silent = new PrimaryChannel({ connected: true, send: () => true, on: () => undefined });
    expect(await new ClusterLimits(silent).tryAcquire('x.test', limits())).toBeUndefined();
    const store = new ClusterCbvStore(new MemoryStore(10, now), silent, now);
    await store.set('dave@example.test', entry(60_000));
    expect((await store.get('dave@example.test'))?.reason).toBe('accepted');
    expect(await store.get('erin@example.test')).toBeUndefined();
  });
});
