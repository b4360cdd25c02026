/**
 * Gauge caches across cluster workers (src/store/cluster-gauges.ts): the
 * workers of one server move one gauge, as one Momentum node's caches are
 * kept; a worker whose primary does not answer reads its own copy.
 */
import { describe, expect, it } from 'vitest';
import { ClusterGauges, GaugeTally } from '../../src/store/cluster-gauges.js';
import { PrimaryChannel } from '../../src/store/primary-channel.js';
import { getValue } from '../../src/sievepp/values.js';
import { linkToPrimary } from '../helpers/primary-link.js';
import { runPP } from '../sievepp/helpers.js';

const shape = { size: 10, ttlSeconds: 300 };

describe('gauge caches kept in the primary', () => {
  it("moves one gauge with every worker's incs and decs", async () => {
    const tally = new GaugeTally();
    const a = new ClusterGauges(linkToPrimary(1, (w, m) => tally.handle(w, m)).channel);
    const b = new ClusterGauges(linkToPrimary(2, (w, m) => tally.handle(w, m)).channel);
    a.init('c', shape);
    b.init('c', { size: 1, ttlSeconds: 1 }); // an init of a cache the server has changes nothing
    expect([a.inc('c', 'k', 0), b.inc('c', 'k', 1), b.inc('c', 'k', 2), a.dec('c', 'k', 3)]).toEqual([true, true, true, true]);
    b.inc('c', 'other', 4);
    expect([await a.get('c', 'k', 5), await b.get('c', 'k', 5), await a.get('c', 'other', 5)]).toEqual([2, 2, 1]);
    // A cache no worker made is none.
    expect([a.inc('none', 'k', 0), await a.get('none', 'k', 0)]).toEqual([false, undefined]);
  });

  it('serves the ec_gauge_cache functions, which wait for the answer', async () => {
    const tally = new GaugeTally();
    const gauges = [1, 2].map((id) => new ClusterGauges(linkToPrimary(id, (w, m) => tally.handle(w, m)).channel));
    const script = 'ec_gauge_cache_init "cache1" 10 300; ec_gauge_cache_inc "cache1" "joe"; $v = ec_gauge_cache_get "cache1" "joe";';
    const seen = [];
    for (const g of [...gauges, ...gauges]) {
      const r = await runPP(script, { host: { gauges: g, now: () => new Date(0) } });
      expect(r.errors).toEqual([]);
      seen.push(getValue(r.runtime, 'v'));
    }
    expect(seen).toEqual(['1', '2', '3', '4']);
  });

  it('reads its own copy when the primary does not answer', async () => {
    const alone = new ClusterGauges(new PrimaryChannel({ connected: false, send: () => false, on: () => undefined }));
    alone.init('c', shape);
    alone.inc('c', 'k', 0);
    alone.inc('c', 'k', 1);
    expect(await alone.get('c', 'k', 2)).toBe(2);
  });
});
