/**
 * Gauge caches (sieve-ref-ec-gauge-cache.md; src/sievepp/gauges.ts and
 * src/sievepp/functions/gauge-cache.ts): the store with a clock given by
 * the test, then the four functions as a script calls them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NamedGauges } from '../../src/sievepp/gauges.js';
import { getValue } from '../../src/sievepp/values.js';
import { compileErrors, runPP, valueOf } from './helpers.js';

describe('the gauge cache store', () => {
  it('counts up and down from 0, a dec of a new key going to -1; a key never moved reads 0', () => {
    const g = new NamedGauges();
    g.init('c', { size: 10, ttlSeconds: 60 });
    expect([g.inc('c', 'a', 0), g.inc('c', 'a', 1), g.dec('c', 'b', 2)]).toEqual([true, true, true]);
    expect([g.get('c', 'a', 3), g.get('c', 'b', 3), g.get('c', 'none', 3)]).toEqual([2, -1, 0]);
    g.dec('c', 'a', 4);
    expect(g.get('c', 'a', 5)).toBe(1);
  });

  it('a cache not made is none: inc and dec say false, get undefined', () => {
    const g = new NamedGauges();
    expect([g.inc('x', 'k', 0), g.dec('x', 'k', 0), g.get('x', 'k', 0)]).toEqual([false, false, undefined]);
  });

  it('an element expires its time after it was last modified; a get does not keep it', () => {
    const g = new NamedGauges();
    g.init('c', { size: 10, ttlSeconds: 300 });
    g.inc('c', 'a', 0);
    g.inc('c', 'a', 200_000);
    // Modified at 200 s: kept until 500 s, whatever the gets in between.
    expect([g.get('c', 'a', 299_999), g.get('c', 'a', 499_999)]).toEqual([2, 2]);
    expect(g.get('c', 'a', 500_000)).toBe(0);
    // An expired element starts again from 0.
    g.inc('c', 'b', 0);
    g.inc('c', 'b', 300_000);
    expect(g.get('c', 'b', 300_001)).toBe(1);
  });

  it('a full cache drops the element modified longest ago to make room', () => {
    const g = new NamedGauges();
    g.init('c', { size: 2, ttlSeconds: 60 });
    g.inc('c', 'a', 0);
    g.inc('c', 'b', 1);
    g.inc('c', 'a', 2); // a is now the newer
    g.inc('c', 'c', 3);
    expect([g.get('c', 'a', 4), g.get('c', 'b', 4), g.get('c', 'c', 4)]).toEqual([2, 0, 1]);
  });

  it('a second init of a cache changes nothing, not even its size', () => {
    const g = new NamedGauges();
    g.init('c', { size: 1, ttlSeconds: 60 });
    g.inc('c', 'a', 0);
    g.init('c', { size: 100, ttlSeconds: 60 });
    g.inc('c', 'b', 1);
    expect([g.get('c', 'a', 2), g.get('c', 'b', 2)]).toEqual([0, 1]);
  });

  it('caches whose sizes would pass the budget drop those used longest ago', () => {
    const g = new NamedGauges(10);
    g.init('a', { size: 4, ttlSeconds: 60 });
    g.init('b', { size: 4, ttlSeconds: 60 });
    g.get('a', 'k', 0); // a used after b
    g.init('c', { size: 4, ttlSeconds: 60 });
    expect([g.get('a', 'k', 0), g.get('b', 'k', 0), g.get('c', 'k', 0)]).toEqual([0, undefined, 0]);
    // At most maxCaches caches: one more drops the one used longest ago.
    const few = new NamedGauges(100, 2);
    for (const name of ['x', 'y', 'z']) few.init(name, { size: 1, ttlSeconds: 60 });
    expect([few.get('x', 'k', 0), few.get('y', 'k', 0), few.get('z', 'k', 0)]).toEqual([undefined, 0, 0]);
    // A size past the whole budget is refused (the functions say why).
    g.init('huge', { size: 11, ttlSeconds: 60 });
    expect(g.get('huge', 'k', 0)).toBeUndefined();
  });

  it('property: never holds more than the budget or a cache more than its size, and each kept key holds incs minus decs', () => {
    const op = fc.record({ cache: fc.integer({ min: 0, max: 4 }), key: fc.integer({ min: 0, max: 30 }), up: fc.boolean(), dt: fc.integer({ min: 0, max: 3000 }) });
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 5, maxLength: 5 }), fc.array(op, { maxLength: 300 }), (sizes, ops) => {
        const budget = 20;
        const g = new NamedGauges(budget);
        // A model: for each cache and key, the moves since the key was last (re)started, with when.
        const model = new Map<string, { value: number; modified: number }>();
        let now = 0;
        for (const o of ops) {
          now += o.dt;
          const name = `c${o.cache}`;
          g.init(name, { size: sizes[o.cache]!, ttlSeconds: 2 });
          const id = `${name}/${o.key}`;
          const before = model.get(id);
          const start = before && now - before.modified < 2000 ? before.value : 0;
          expect(o.up ? g.inc(name, String(o.key), now) : g.dec(name, String(o.key), now)).toBe(true);
          model.set(id, { value: start + (o.up ? 1 : -1), modified: now });
          expect(g.size).toBeLessThanOrEqual(budget);
          // The key just moved is kept and holds what the model says (its older moves may have been dropped: then it started from 0).
          const got = g.get(name, String(o.key), now);
          if (got !== model.get(id)!.value) {
            expect(got).toBe(o.up ? 1 : -1);
            model.set(id, { value: got!, modified: now });
          }
        }
        for (let c = 0; c < 5; c++) {
          let held = 0;
          for (let k = 0; k <= 30; k++) if ((g.get(`c${c}`, String(k), now) ?? 0) !== 0) held++;
          expect(held).toBeLessThanOrEqual(sizes[c]!);
        }
      }),
    );
  });
});

describe('the ec_gauge_cache functions', () => {
  const host = () => ({ gauges: new NamedGauges(), now: () => new Date(1_000_000) });

  it('init, inc, dec and get as a script calls them; values are decimal strings', async () => {
    const h = host();
    const script = 'ec_gauge_cache_init "cache1" 10 300; ec_gauge_cache_inc "cache1" "joe"; ec_gauge_cache_inc "cache1" "joe"; ec_gauge_cache_dec "cache1" "ann"; $j = ec_gauge_cache_get "cache1" "joe"; $a = ec_gauge_cache_get "cache1" "ann"; $n = ec_gauge_cache_get "cache1" "nobody";';
    expect(await valueOf(script, 'j', { host: h })).toBe('2');
    // The caches outlive the run: a second run counts on.
    const r = await runPP(script, { host: h });
    expect(['j', 'a', 'n'].map((v) => getValue(r.runtime, v))).toEqual(['4', '-2', '0']);
    // The optional replicate flag is taken and changes nothing.
    expect(await valueOf('ec_gauge_cache_init "cache1" "10" "300" 1; $j = ec_gauge_cache_get "cache1" "joe";', 'j', { host: h })).toBe('4');
  });

  it('a cache not made, or a bad size or expiry found at run time, is a runtime error', async () => {
    const errors = async (s: string) => (await runPP(s, { host: host() })).errors.map((e) => e.message);
    expect(await errors('ec_gauge_cache_inc "none" "k";')).toEqual(["ec_gauge_cache_inc: there is no gauge cache 'none' (ec_gauge_cache_init it first)"]);
    expect(await errors('$v = ec_gauge_cache_get "none" "k";')).toEqual(["ec_gauge_cache_get: there is no gauge cache 'none' (ec_gauge_cache_init it first)"]);
    expect(await errors('$s = "0"; ec_gauge_cache_init "c" "${s}" 300;')).toEqual(['ec_gauge_cache_init: the most elements must be a whole number from 1 to 1000000, not 0']);
    expect(await errors('$s = "x"; ec_gauge_cache_init "c" 10 "${s}";')).toEqual(["ec_gauge_cache_init: argument 3 must be a number, not 'x'"]);
    expect((await runPP('ec_gauge_cache_init "c" 10 300;')).errors.map((e) => e.message)).toEqual(['ec_gauge_cache_init: this host keeps no gauge caches']);
  });

  it('a literal size or expiry out of range is a compile error at its argument', () => {
    expect(compileErrors('ec_gauge_cache_init "c" 0 300;')).toEqual(['1:25: ec_gauge_cache_init: the most elements must be a whole number from 1 to 1000000, not 0']);
    expect(compileErrors('ec_gauge_cache_init "c" 10 "0";')).toEqual(['1:28: ec_gauge_cache_init: the time to expiration must be a whole number of seconds from 1, not 0']);
    expect(compileErrors('ec_gauge_cache_init "c" 2000000 300;')).toHaveLength(1);
  });
});
