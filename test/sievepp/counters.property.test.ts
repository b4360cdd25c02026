/**
 * The per-IP series (src/sievepp/counters.ts) against a plain reading of
 * them: every event kept, each address parsed and matched against the
 * block by ipaddr.js, summed over the windows asked for. For one address
 * (a full-length mask) and for blocks of any length, IPv4, IPv6 and
 * IPv4-mapped addresses alike.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { MemoryCounterStore } from '../../src/sievepp/counters.js';

const addresses = ['192.0.2.1', '192.0.2.77', '192.0.3.1', '10.1.2.3', '::ffff:192.0.2.1', '2001:db8::1', '2001:db8::ff', '2001:db8:1::1', 'fe80::1', 'not an address'];

describe('per-IP series', () => {
  it('count the events of the addresses in the block, in the windows asked for', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ip: fc.constantFrom(...addresses), count: fc.integer({ min: 1, max: 5 }), at: fc.nat(3600) }), { maxLength: 60 }),
        fc.constantFrom(...addresses.slice(0, -1)),
        fc.integer({ min: 0, max: 128 }),
        fc.nat(5).chain((a) => fc.tuple(fc.constant(a), fc.integer({ min: a, max: 6 }))),
        (events, ip, mask, [periodStart, periodEnd]) => {
          const store = new MemoryCounterStore({ retentionSeconds: 86_400, maxAddresses: 1000 });
          const t0 = 1_700_000_000_000;
          const sorted = [...events].sort((a, b) => a.at - b.at);
          for (const e of sorted) store.add('connections', e.ip, e.count, t0 + e.at * 1000);
          const now = t0 + 3600 * 1000;
          const monitor = { window: 300, windows: 6 };
          const q = ipaddr.process(ip);
          const bits = Math.min(mask, q.kind() === 'ipv4' ? 32 : 128);
          const nowS = Math.floor(now / 1000);
          const newest = nowS - periodStart * monitor.window;
          const oldest = nowS - (periodEnd + 1) * monitor.window;
          let want = 0;
          for (const e of sorted) {
            if (!ipaddr.isValid(e.ip)) continue;
            const a = ipaddr.process(e.ip);
            const t = Math.floor((t0 + e.at * 1000) / 1000);
            if (a.kind() === q.kind() && a.match(q, bits) && t > oldest && t <= newest) want += e.count;
          }
          expect(store.count({ series: 'connections', monitor, ip, mask, periodStart, periodEnd, now })).toBe(want);
        },
      ),
      { numRuns: 500 },
    );
  });
});
