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
import { expectOneCount } from '../helpers/throttle-stores.js';
import { runPP } from '../sievepp/helpers.js';

const rate = { messages: 2, seconds: 60 };

describe('named throttles counted in the primary', () => {
  it("counts every worker's messages in one throttle, and gives tarpit places across them", async () => {
    const tally = new ThrottleTally(1000);
    const a = new ClusterThrottles(1000, linkToPrimary(1, (w, m) => tally.handle(w, m)).channel);
    const b = new ClusterThrottles(1000, linkToPrimary(2, (w, m) => tally.handle(w, m)).channel);
    await expectOneCount(a, b);

    a.create('tp', rate, 0);
    expect([await a.tarpit('tp', 0), await b.tarpit('tp', 0), await a.tarpit('tp', 1000)]).toEqual([0, 0, 59_000]);
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
