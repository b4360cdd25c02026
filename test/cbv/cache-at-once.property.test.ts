import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CacheEntry, type CbvStore, FailSafeStore, MemoryStore, VerdictCache } from '../../src/cbv/cache.js';
import { PrefixedStore } from '../../src/cbv/namespace.js';
import type { CbvReason } from '../../src/cbv/types.js';

/** The same store seen only through its promises, as a shared store (Redis, the cluster's primary) is. */
const onlyAsync = (inner: CbvStore): CbvStore => ({ get: (k) => inner.get(k), set: (k, e) => inner.set(k, e), delete: (k) => inner.delete(k) });

const ttls = { positiveMs: 10_000, negativeMs: 2_000, domainMs: 5_000 };
const address = fc.constantFrom('a@x.test', 'b@x.test', 'c@y.test');
const domainOf = (a: string) => a.slice(a.indexOf('@') + 1);
const sender = fc.constantFrom('', 'probe@us.test');
const verdict = fc.constantFrom<[CbvReason, 'pass' | 'fail' | 'error' | 'transient']>(
  ['accepted', 'pass'],
  ['accept-all', 'pass'],
  ['rejected', 'fail'],
  ['nxdomain', 'error'],
  ['sender-rejected', 'error'],
  ['connect-timeout', 'transient'],
);
const step = fc.oneof(
  fc.record({ op: fc.constant('remember' as const), address, sender, verdict }),
  fc.record({ op: fc.constant('lookup' as const), address, sender }),
  fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 6_000 }) }),
);

describe('a cache look-up answered at once', () => {
  it('property: a store held here answers every look-up at once, as the same store asked through promises does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 30 }), fc.boolean(), async (steps, prefixed) => {
        let t = 1_000_000;
        const now = () => t;
        const memory = new MemoryStore(100, now);
        const here: CbvStore = prefixed ? new PrefixedStore('s:', new FailSafeStore(memory, () => undefined)) : new FailSafeStore(memory, () => undefined);
        const atOnce = new VerdictCache(here, ttls, now);
        const asked = new VerdictCache(onlyAsync(here), ttls, now);
        for (const s of steps) {
          if (s.op === 'wait') t += s.ms;
          else if (s.op === 'remember') await atOnce.remember(s.address, domainOf(s.address), s.sender, { reason: s.verdict[0], stage: 'rcpt', message: 'm' }, s.verdict[1]);
          else {
            const found = atOnce.lookup(s.address, domainOf(s.address), s.sender);
            expect(found).not.toBeInstanceOf(Promise);
            const viaPromises = asked.lookup(s.address, domainOf(s.address), s.sender);
            expect(viaPromises).toBeInstanceOf(Promise);
            expect(found).toEqual(await viaPromises);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a store held here that fails answers a miss and says so, as its promise does', () => {
    const broken: CbvStore = {
      get: () => Promise.reject(new Error('down')),
      getNow: () => {
        throw new Error('down');
      },
      set: async () => undefined,
      delete: async () => undefined,
    };
    const errors: string[] = [];
    const store = new FailSafeStore(broken, (op) => errors.push(op));
    expect(store.getNow!('a:x@y.test')).toBeUndefined();
    expect(errors).toEqual(['get']);
  });

  it('a store with nothing held here has no answer at once', () => {
    expect(new FailSafeStore(onlyAsync(new MemoryStore(10)), () => undefined).getNow).toBeUndefined();
    expect(new PrefixedStore('r:', onlyAsync(new MemoryStore(10))).getNow).toBeUndefined();
    const entry: CacheEntry = { reason: 'accepted', stage: 'rcpt', message: 'm', storedAt: 0, expiresAt: Date.now() + 60_000 };
    const memory = new MemoryStore(10);
    void memory.set('r:a:x@y.test', entry);
    expect(new PrefixedStore('r:', memory).getNow!('a:x@y.test')).toBe(entry);
  });
});
