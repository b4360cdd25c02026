/**
 * Named throttles across cluster workers (src/store/cluster-throttles.ts):
 * the workers of one server count in one throttle, as one Momentum node's
 * throttles are counted; a worker whose primary does not answer counts
 * with its own copy.
 */
import { describe, expect, it } from 'vitest';
import { ClusterThrottles, ThrottleTally } from '../../src/store/cluster-throttles.js';
import { PrimaryChannel } from '../../src/store/primary-channel.js';
import { getValue } from '../../src/sievepp/values.js';
import { linkToPrimary } from '../helpers/primary-link.js';
import { runPP } from '../sievepp/helpers.js';

const rate = { messages: 2, seconds: 60 };

describe('named throttles counted in the primary', () => {
  it("counts every worker's messages in one throttle, and gives tarpit places across them", async () => {
    const tally = new ThrottleTally(1000);
    const a = new ClusterThrottles(1000, linkToPrimary(1, (w, m) => tally.handle(w, m)).channel);
    const b = new ClusterThrottles(1000, linkToPrimary(2, (w, m) => tally.handle(w, m)).channel);
    a.create('t', rate, 0);
    b.create('t', { messages: 50, seconds: 60 }, 0); // a create of a throttle the server has changes nothing
    expect(await a.inc('t', 1)).toBe(true);
    expect(await b.inc('t', 2)).toBe(true);
    expect(await a.exceeded('t', 3)).toBe(false);
    expect(await b.inc('t', 4)).toBe(true);
    expect(await a.exceeded('t', 5)).toBe(true);
    expect(await b.dec('t', 6)).toBe(true);
    expect(await a.exceeded('t', 7)).toBe(false);

    a.create('tp', rate, 0);
    expect([await a.tarpit('tp', 0), await b.tarpit('tp', 0), await a.tarpit('tp', 1000)]).toEqual([0, 0, 59_000]);
    // A throttle no worker created is no throttle.
    expect([await b.inc('none', 0), await b.exceeded('none', 0), await b.tarpit('none', 0)]).toEqual([false, undefined, undefined]);
  });

  it('serves the ec_throttle functions, which wait for the answers', async () => {
    const tally = new ThrottleTally(1000);
    const throttles = new ClusterThrottles(1000, linkToPrimary(1, (w, m) => tally.handle(w, m)).channel);
    const host = { throttles, now: () => new Date(0) };
    const r = await runPP('ec_throttle_create "x" "1/60"; ec_throttle_inc "x"; ec_throttle_inc "x"; $v = ec_throttle_check "x"; ec_throttle_tarpit "x";', { host });
    expect(r.errors).toEqual([]);
    expect(getValue(r.runtime, 'v')).toBe('true');
    expect(r.actions.map((a) => a.def.describe(a))).toEqual(['ec_tarpit 60']);
    expect((await runPP('ec_throttle_dec "none";', { host })).errors.map((e) => e.message)).toEqual(["ec_throttle_dec: there is no throttle 'none' (ec_throttle_create it first)"]);
  });

  it('counts with its own copy when the primary does not answer', async () => {
    const alone = new ClusterThrottles(1000, new PrimaryChannel({ connected: false, send: () => false, on: () => undefined }));
    alone.create('t', rate, 0);
    for (let i = 0; i < 3; i++) expect(await alone.inc('t', i)).toBe(true);
    expect(await alone.exceeded('t', 3)).toBe(true);
    expect(await alone.tarpit('t', 4)).toBe(59_996);
  });
});
