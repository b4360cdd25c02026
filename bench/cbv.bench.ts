/**
 * CBV engine benchmark against a local sink (an in-process smtp-server on
 * loopback, DNS from the test DNS server). Absolute numbers depend on the
 * machine, so every figure is also printed as a ratio against a baseline
 * measured in this same run: a bare TCP connect, greeting, QUIT loop against
 * the same sink at the same concurrency.
 *
 *   1. probes per second, 1,000 distinct addresses, concurrency 50
 *   2. 1,000 concurrent identical probes: how many connections reach the sink
 *   3. verdict latency on a cache hit
 *
 * smtp-server holds every greeting 100 ms (its early-talker pause), which
 * bounds both the baseline and the probes against it; the same pair is also
 * measured against a raw sink that greets at once, where the engine's own
 * cost shows.
 */
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { createCbvEngine } from '../src/cbv/index.js';
import { startDnsServer } from '../test/helpers/dns-server.js';
import { startRawRemote, startSmtpRemote, standardReply } from '../test/helpers/smtp-remote.js';
import { bareSession, pool } from './pool.js';

const N = 1000;
const CONCURRENCY = 50;

const dns = await startDnsServer({
  'bench.test': { MX: [{ preference: 10, exchange: 'mx.bench.test' }] },
  'mx.bench.test': { A: ['127.0.0.1'] },
});
const sink = await startSmtpRemote({});
const makeEngine = (port = sink.port) =>
  createCbvEngine({
    dnsServers: [dns.address],
    port,
    allowTargets: ['127.0.0.0/8'],
    helo: 'bench.test',
    logger: pino({ level: 'silent' }),
    maxConcurrent: 1000,
    maxConcurrentPerDomain: 1000,
    maxConcurrentPerHost: 1000,
    ratePerDomain: 1_000_000,
    timeout: 30,
    commandTimeoutMs: 10_000,
    greetingTimeoutMs: 10_000,
  });

// Warm-up: JIT, sockets, the DNS path.
await pool(100, CONCURRENCY, () => bareSession(sink.port));
await pool(100, CONCURRENCY, (i) => makeEngine().verify(`warm${i}@bench.test`));

/** Baseline and distinct-address probes against one sink; returns the baseline ms per session. */
async function distinct(label: string, port: number, count: () => number): Promise<number> {
  const baseMs = await pool(N, CONCURRENCY, () => bareSession(port));
  const basePerSec = (N / baseMs) * 1000;
  console.log(`[${label}] baseline: bare connect+greeting+QUIT, ${N} sessions at concurrency ${CONCURRENCY}: ${basePerSec.toFixed(0)}/s`);
  const engine = makeEngine(port);
  const before = count();
  const probeMs = await pool(N, CONCURRENCY, async (i) => {
    const v = await engine.verify(`user${i}@bench.test`);
    if (v.status !== 'pass') throw new Error(`unexpected verdict ${v.status} ${v.reason}`);
  });
  const probesPerSec = (N / probeMs) * 1000;
  console.log(
    `[${label}] probes: ${N} distinct addresses at concurrency ${CONCURRENCY}: ${probesPerSec.toFixed(0)}/s ` +
      `(${(probesPerSec / basePerSec).toFixed(2)}x baseline; ${count() - before} connections)`,
  );
  return baseMs / N;
}

// 1. Distinct addresses, against smtp-server and against a raw sink.
const baseMs = (await distinct('smtp-server sink', sink.port, () => sink.connections)) * N;
const raw = await startRawRemote({ onConnect: (c) => c.send('220 raw.test ESMTP'), onLine: standardReply });
await pool(100, CONCURRENCY, () => bareSession(raw.port));
await distinct('raw sink', raw.port, () => raw.connections);
await raw.close();

// 2. Identical probes at once: single flight.
const e2 = makeEngine();
const before2 = sink.connections;
const t2 = performance.now();
const all = await Promise.all(Array.from({ length: N }, () => e2.verify('same@bench.test')));
const ms2 = performance.now() - t2;
const passes = all.filter((v) => v.status === 'pass').length;
console.log(
  `single flight: ${N} concurrent identical probes -> ${sink.connections - before2} connection(s), ${passes}/${N} got pass, ` +
    `${ms2.toFixed(1)} ms in all (${(ms2 / (baseMs / N)).toFixed(1)}x one amortised baseline session)`,
);

// 3. Cache hits.
const e3 = makeEngine();
const t3a = performance.now();
await e3.verify('cached@bench.test');
const missMs = performance.now() - t3a;
const HITS = 20_000;
const t3 = performance.now();
for (let i = 0; i < HITS; i++) {
  const v = await e3.verify('cached@bench.test');
  if (!v.cached) throw new Error('expected a cache hit');
}
const hitMs = (performance.now() - t3) / HITS;
console.log(
  `cache hit: ${(hitMs * 1000).toFixed(1)} µs per verdict over ${HITS} hits ` +
    `(${(missMs / hitMs).toFixed(0)}x faster than the uncached probe of ${missMs.toFixed(2)} ms; ` +
    `${((baseMs / N) / hitMs).toFixed(0)}x faster than one amortised baseline session)`,
);

await sink.close();
await dns.close();
