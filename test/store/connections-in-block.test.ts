/**
 * Connections open from a CIDR block, on one listener or on all
 * (src/store/connections.ts inBlock, src/store/cluster-connections.ts):
 * what audit_connections_on_listener and _on_service read.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { ClusterConnections, ConnectionTally } from '../../src/store/cluster-connections.js';
import { LocalConnections } from '../../src/store/connections.js';
import { PrimaryChannel } from '../../src/store/primary-channel.js';
import { linkToPrimary } from '../helpers/primary-link.js';

const A = '127.0.0.1:25';
const B = '127.0.0.1:587';

describe('connections in a block', () => {
  it('counts the addresses inside the block, on one listener or on all, IPv4 (mapped too) and IPv6', () => {
    const c = new LocalConnections();
    c.open('192.0.2.1', A);
    c.open('192.0.2.1', B);
    c.open('::ffff:192.0.2.77', A);
    c.open('198.51.100.1', A);
    c.open('2001:db8::1', A);
    c.open('2001:db8:0:1::1', B);
    expect([c.inBlock('192.0.2.1', 32), c.inBlock('192.0.2.1', 24), c.inBlock('192.0.2.200', 24), c.inBlock('192.0.2.1', 0)]).toEqual([2, 3, 3, 4]);
    expect([c.inBlock('192.0.2.1', 32, A), c.inBlock('192.0.2.1', 24, A), c.inBlock('192.0.2.1', 24, B), c.inBlock('192.0.2.1', 24, 'none:1')]).toEqual([1, 2, 1, 0]);
    expect([c.inBlock('2001:db8::5', 128), c.inBlock('2001:db8::5', 64), c.inBlock('2001:db8::5', 48), c.inBlock('2001:db8::5', 48, B)]).toEqual([0, 1, 2, 1]);
    c.close('192.0.2.1', B);
    expect([c.inBlock('192.0.2.1', 32), c.inBlock('192.0.2.1', 32, B), c.current('192.0.2.1')]).toEqual([1, 0, 1]);
    expect(c.inBlock('not an address', 24)).toBe(0);
  });

  it('counts as ipaddr.js matching every open address would, over any opens and closes', () => {
    const addresses = ['192.0.2.1', '192.0.2.77', '::ffff:192.0.2.9', '10.0.0.1', '2001:db8::1', '2001:db8:1::2', 'fe80::1', 'junk'];
    fc.assert(
      fc.property(
        fc.array(fc.record({ ip: fc.constantFrom(...addresses), open: fc.boolean(), listener: fc.constantFrom(A, B), ask: fc.option(fc.tuple(fc.constantFrom(...addresses), fc.integer({ min: 0, max: 128 }), fc.option(fc.constantFrom(A, B)))) })),
        (steps) => {
          const c = new LocalConnections();
          const open: Array<{ ip: string; listener: string }> = [];
          for (const s of steps) {
            if (s.open) {
              c.open(s.ip, s.listener);
              open.push(s);
            } else {
              const at = open.findIndex((o) => o.ip === s.ip && o.listener === s.listener);
              if (at >= 0) {
                c.close(s.ip, s.listener);
                open.splice(at, 1);
              }
            }
            if (!s.ask) continue;
            const [ip, mask, listener] = s.ask;
            let want = 0;
            if (ipaddr.isValid(ip)) {
              const q = ipaddr.process(ip);
              const bits = Math.min(mask, q.kind() === 'ipv4' ? 32 : 128);
              for (const o of open) {
                if (listener !== null && o.listener !== listener) continue;
                if (!ipaddr.isValid(o.ip)) continue;
                const a = ipaddr.process(o.ip);
                if (a.kind() === q.kind() && a.match(q, bits)) want++;
              }
            }
            expect(c.inBlock(ip, mask, listener ?? undefined)).toBe(want);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a cluster's primary counts every worker's connections in a block, and forgets a dead worker's", async () => {
    const tally = new ConnectionTally();
    const a = new ClusterConnections(linkToPrimary(1, (w, m) => tally.handle(w, m)).channel);
    const b = new ClusterConnections(linkToPrimary(2, (w, m) => tally.handle(w, m)).channel);
    await a.open('192.0.2.1', A);
    await b.open('192.0.2.2', A);
    await b.open('192.0.2.3', B);
    expect([await a.inBlock('192.0.2.9', 24), await a.inBlock('192.0.2.9', 24, A), await b.inBlock('192.0.2.1', 32, B)]).toEqual([3, 2, 0]);
    b.close('192.0.2.3', B);
    expect(await a.inBlock('192.0.2.9', 24, B)).toBe(0);
    tally.forget(2);
    expect([await a.inBlock('192.0.2.9', 24), await a.inBlock('192.0.2.9', 24, A)]).toEqual([1, 1]);
  });

  it('a worker whose primary does not answer counts its own', async () => {
    const alone = new ClusterConnections(new PrimaryChannel({ connected: false, send: () => false, on: () => undefined }));
    await alone.open('192.0.2.1', A);
    await alone.open('192.0.2.2', B);
    expect([await alone.inBlock('192.0.2.0', 24), await alone.inBlock('192.0.2.0', 24, B)]).toEqual([2, 1]);
  });
});
