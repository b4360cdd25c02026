/**
 * A cache hit in a full bounded cache (src/lru-map.ts: the CBV verdicts,
 * the DNS cache, datasource results, named throttles), for one hot key (a
 * sender, throttle or domain in every message) and for keys taken at
 * random. Against the floor, a plain Map's get that keeps no order, and,
 * for context, the way the caches kept their order before: delete and set
 * on every hit. Medians of alternating rounds.
 */
import { LruMap } from '../src/lru-map.js';
import { quantile } from './quantile.js';

const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);

const HITS = 200_000;
const ROUNDS = 5;

type Cache = { get(key: string): unknown };

/** The order kept by moving the key to the end on every hit. */
class MoveOnEveryHit implements Cache {
  readonly map = new Map<string, number>();
  get(key: string): unknown {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }
}

function filled(size: number) {
  const keys = Array.from({ length: size }, (_, i) => `sender${i}@example.com`);
  const lru = new LruMap<string, number>(size);
  const moving = new MoveOnEveryHit();
  const plain = new Map<string, number>();
  for (const [i, k] of keys.entries()) {
    lru.set(k, i);
    moving.map.set(k, i);
    plain.set(k, i);
  }
  return { keys, caches: { plain: plain as Cache, lru: lru as Cache, moving: moving as Cache } };
}

/** Microseconds a hit, over `keys` in turn. */
function time(cache: Cache, keys: readonly string[]): number {
  let found = 0;
  const t = performance.now();
  for (let i = 0; i < HITS; i++) if (cache.get(keys[i % keys.length]!) !== undefined) found++;
  const us = ((performance.now() - t) * 1000) / HITS;
  if (found !== HITS) throw new Error(`a hit was missed (${found} of ${HITS})`);
  return us;
}

for (const size of [1_000, 10_000, 100_000]) {
  const { keys, caches } = filled(size);
  const workloads = { 'one hot key': [keys[0]!], 'keys at random': Array.from({ length: 4096 }, () => keys[Math.floor(Math.random() * keys.length)]!) };
  for (const [name, asked] of Object.entries(workloads)) {
    const us: Record<keyof typeof caches, number[]> = { plain: [], lru: [], moving: [] };
    for (let r = 0; r < ROUNDS; r++) for (const k of Object.keys(caches) as Array<keyof typeof caches>) us[k].push(time(caches[k], asked));
    const [plain, lru, moving] = [median(us.plain), median(us.lru), median(us.moving)];
    console.log(`${size} entries, ${name}:`);
    console.log(`  baseline: Map get, no order kept   ${plain.toFixed(3)} us a hit`);
    console.log(`  LruMap get                         ${lru.toFixed(3)} us a hit   ratio ${(lru / plain).toFixed(2)}x the baseline`);
    console.log(`  for context, delete + set a hit    ${moving.toFixed(3)} us a hit   ratio ${(moving / plain).toFixed(2)}x the baseline`);
  }
}
