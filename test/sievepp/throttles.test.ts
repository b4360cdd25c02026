/**
 * Named throttles (sieve-ref-ec-throttle.md; src/sievepp/throttles.ts and
 * src/sievepp/functions/throttle.ts): the store with a clock given by the
 * test, then the five functions as a script calls them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NamedThrottles, parseThrottleRate } from '../../src/sievepp/throttles.js';
import { windowTally } from '../helpers/throttle-stores.js';
import { runPP, valueOf } from './helpers.js';

const rate = (text: string) => parseThrottleRate(text)!;

describe('the throttle store', () => {
  it('reads "X/Y" rates of positive whole numbers only', () => {
    expect(parseThrottleRate('30/1')).toEqual({ messages: 30, seconds: 1 });
    expect(parseThrottleRate(' 5 / 60 ')).toEqual({ messages: 5, seconds: 60 });
    for (const bad of ['30', '0/1', '3/0', '1.5/1', '-1/1', 'a/b', '']) expect(parseThrottleRate(bad)).toBeUndefined();
  });

  it('is exceeded past X messages in a window; a new window starts empty, whatever the last one counted', () => {
    const t = new NamedThrottles();
    t.create('in', rate('3/10'), 0);
    for (let i = 0; i < 3; i++) t.inc('in', 1000);
    expect(t.exceeded('in', 1000)).toBe(false);
    t.inc('in', 2000);
    t.inc('in', 2000);
    expect(t.exceeded('in', 2000)).toBe(true);
    t.dec('in', 3000);
    t.dec('in', 3000);
    expect(t.exceeded('in', 3000)).toBe(false);
    t.inc('in', 3000);
    t.inc('in', 3000);
    expect(t.exceeded('in', 9999)).toBe(true);
    expect(t.exceeded('in', 10_000)).toBe(false);
  });

  it('a second create of a name changes nothing, not even the rate', () => {
    const t = new NamedThrottles();
    t.create('x', rate('1/10'), 0);
    t.inc('x', 0);
    t.inc('x', 0);
    t.create('x', rate('100/10'), 1);
    expect(t.exceeded('x', 1)).toBe(true);
  });

  it('a tarpit gives each message past X a place in the first later window with room, and the wait until it', () => {
    const t = new NamedThrottles();
    t.create('tp', rate('2/1'), 0);
    expect([0, 0, 0, 0, 0].map(() => t.tarpit('tp', 100))).toEqual([0, 0, 900, 900, 1900]);
    // In the second window its two places are taken, one in the third: the next goes to the third too.
    expect(t.tarpit('tp', 1200)).toBe(800);
    expect(t.tarpit('tp', 1200)).toBe(1800);
    // A window with tarpit places is full for check too.
    t.create('tp2', rate('1/1'), 0);
    t.tarpit('tp2', 0);
    t.tarpit('tp2', 0);
    t.inc('tp2', 1000);
    expect(t.exceeded('tp2', 1000)).toBe(true);
  });

  it('drops a throttle unused for its interval and a second, unless a tarpit gave places still to come; and the least recently used past its capacity', () => {
    const t = new NamedThrottles(2);
    t.create('idle', rate('5/1'), 0);
    t.inc('idle', 0);
    expect(t.exceeded('idle', 2000)).toBe(false);
    expect(t.exceeded('idle', 4001)).toBeUndefined();
    t.create('waiting', rate('1/5'), 0);
    for (let i = 0; i < 3; i++) t.tarpit('waiting', 0);
    expect(t.exceeded('waiting', 9000)).toBe(false);
    const lru = new NamedThrottles(2);
    lru.create('a', rate('1/60'), 0);
    lru.create('b', rate('1/60'), 0);
    lru.inc('a', 1);
    lru.create('c', rate('1/60'), 2);
    expect([lru.exceeded('a', 3), lru.exceeded('b', 3), lru.exceeded('c', 3)]).toEqual([false, undefined, false]);
  });

  it('tarpitted messages keep to the rate: no window is given more than X, whatever the calls and their times', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 60 }), (x, y, steps) => {
        const t = new NamedThrottles();
        t.create('p', { messages: x, seconds: y }, 0);
        const tally = windowTally({ messages: x, seconds: y });
        let now = 0;
        for (const step of steps) {
          now += step;
          tally.let(now, t.tarpit('p', now));
        }
        tally.expectWithinRate();
      }),
    );
  });
});

describe('the ec_throttle functions', () => {
  const at = (ms: number) => ({ now: () => new Date(ms) });

  it('ec_throttle_tarpit delays the reply with an ec_tarpit of the wait, bounded as ec_tarpit is', async () => {
    const throttles = new NamedThrottles();
    const script = 'ec_throttle_create "foo" "2/10"; ec_throttle_tarpit "foo";';
    const tarpits = async (ms: number, max?: number) => (await runPP(script, { host: { throttles, ...at(ms), ...(max ? { maxTarpitSeconds: max } : {}) } })).actions.map((a) => a.def.describe(a));
    expect(await tarpits(0)).toEqual([]);
    expect(await tarpits(0)).toEqual([]);
    expect(await tarpits(2500)).toEqual(['ec_tarpit 7.5']);
    const over = await runPP(script, { host: { throttles, ...at(2500), maxTarpitSeconds: 5 } });
    expect(over.actions.map((a) => a.def.describe(a))).toEqual(['ec_tarpit 5']);
    expect(over.runtime.warnings.map((w) => w.message).join(' ')).toMatch(/ec_throttle_tarpit: the throttle 'foo' asks 7.5 seconds, over the limit, delaying 5/);
  });

  it('ec_throttle_check is "true" or "false" when assigned, as the page compares it, and a test too', async () => {
    const throttles = new NamedThrottles();
    const script = 'ec_throttle_create "bar" "1/60"; ec_throttle_inc "bar"; $var = ec_throttle_check "bar";';
    expect(await valueOf(script, 'var', { host: { throttles, ...at(0) } })).toBe('false');
    expect(await valueOf(script, 'var', { host: { throttles, ...at(1) } })).toBe('true');
    expect(await valueOf('ec_throttle_dec "bar"; ec_throttle_dec "bar"; $var = ec_throttle_check "bar";', 'var', { host: { throttles, ...at(2) } })).toBe('false');
    const r = await runPP('if ec_throttle_check "bar" { ec_action 451 "4.7.1 slow down"; }', { host: { throttles, ...at(3) } });
    expect(r.actions.map((a) => a.def.describe(a))).toEqual([]);
  });

  it('a throttle not created, a rate found not X/Y when the script runs, and a host without throttles are runtime errors', async () => {
    const errors = async (script: string, host = {}) => (await runPP(script, { host })).errors.map((e) => e.message).join(' ');
    expect(await errors('ec_throttle_inc "none";', { throttles: new NamedThrottles() })).toMatch(/ec_throttle_inc: there is no throttle 'none' \(ec_throttle_create it first\)/);
    // A rate known only when the script runs (a literal one is checked at compile time: shared-throttles.test.ts).
    expect(await errors('$r = "fast"; ec_throttle_create "x" $r;', { throttles: new NamedThrottles() })).toMatch(/'fast' is not a rate such as "30\/1"/);
    expect(await errors('ec_throttle_create "x" "1/1";')).toMatch(/this host keeps no throttles/);
  });
});
