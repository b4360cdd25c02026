/**
 * ec_ip_connections and friends (src/sievepp/counters.ts) over a series
 * of 100,000 addresses, as a busy server's connections series holds: a
 * query for one address and for blocks, each a turn of the event loop that
 * every other session waits for. Baselines: for one address, a Map's get;
 * for a block, a scan of the same number of addresses kept as 32-bit
 * numbers (the least any scan costs). For context, the way the series were
 * read before: each address parsed by ipaddr.js and matched.
 */
import ipaddr from 'ipaddr.js';
import { MemoryCounterStore } from '../src/sievepp/counters.js';

const ADDRESSES = 100_000;
const ROUNDS = 5;
const now = Date.now();
const store = new MemoryCounterStore({ retentionSeconds: 86_400, maxAddresses: ADDRESSES });
const keys: string[] = [];
const numbers = new Uint32Array(ADDRESSES);
for (let i = 0; i < ADDRESSES; i++) {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  keys.push(ip);
  numbers[i] = ((10 << 24) | i) >>> 0;
  store.add('connections', ip, 1, now);
}
const plain = new Map(keys.map((k) => [k, [[Math.floor(now / 1000), 1]]]));
const monitor = { window: 300, windows: 6 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function ms(f: () => unknown, times = 1): number {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    for (let i = 0; i < times; i++) f();
    rounds.push((performance.now() - t) / times);
  }
  return median(rounds);
}

console.log(`a query over a series of ${ADDRESSES.toLocaleString('en')} addresses, medians of ${ROUNDS} rounds`);
const one = ms(() => store.count({ series: 'connections', monitor, ip: '10.0.200.7', mask: 32, periodStart: 0, periodEnd: 5, now }), 1000);
const floor = ms(() => plain.get('10.0.200.7'), 1000);
console.log(`  one address (/32):  ${(one * 1000).toFixed(2)} us   baseline, a Map get: ${(floor * 1000).toFixed(3)} us   ratio ${(one / floor).toFixed(0)}x`);
for (const mask of [24, 16, 8]) {
  const block = ipaddr.parseCIDR(`10.0.200.7/${mask}`);
  const m = (0xffffffff << (32 - mask)) >>> 0;
  const base = ((10 << 24) | (200 << 8)) & m;
  const q = ms(() => store.count({ series: 'connections', monitor, ip: '10.0.200.7', mask, periodStart: 0, periodEnd: 5, now }));
  let hits = 0;
  const scan = ms(() => {
    hits = 0;
    for (let i = 0; i < numbers.length; i++) if (((numbers[i]! & m) >>> 0) === base >>> 0) hits++;
  });
  const before = ms(() => {
    let n = 0;
    for (const k of keys) {
      const a = ipaddr.parse(k);
      if (a.kind() === block[0].kind() && a.match(block)) n++;
    }
    return n;
  });
  console.log(`  a /${mask}:  ${q.toFixed(2)} ms   baseline, a scan of 32-bit numbers: ${scan.toFixed(2)} ms   ratio ${(q / scan).toFixed(1)}x;   for context, each address parsed as before: ${before.toFixed(1)} ms (${(before / q).toFixed(0)}x the query)`);
}
