/**
 * Recipient call-ahead (docs/recipient-verification.md) against a loopback
 * next hop: a raw SMTP sink that greets at once and accepts every
 * recipient, the route's Gateway. Absolute rates depend on the machine (and
 * on what else runs on it), so each is also given as a ratio against a
 * baseline measured in this same run: a bare connect, greeting, QUIT loop
 * against the same sink at the same concurrency.
 *
 *   1. uncached: N distinct recipients, every one a call-ahead
 *   2. cached: the same N recipients again, every one a cache hit
 *   3. single flight: N identical recipients at once, and the connections
 *      they cost the next hop
 */
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { parseConfigText } from '../src/config/load.js';
import { MemoryStore } from '../src/cbv/cache.js';
import { RecipientVerifier } from '../src/delivery/call-ahead.js';
import { startRawRemote, standardReply } from '../test/helpers/smtp-remote.js';
import { bareSession, pool } from './pool.js';

const N = 2000;
const CONCURRENCY = 50;

const sink = await startRawRemote({ onConnect: (c) => c.send('220 next-hop.test ESMTP'), onLine: standardReply });
const loaded = parseConfigText(
  [
    `Gateway = "127.0.0.1:${sink.port}"`,
    'TLS = no',
    'Recipient_Verify = true',
    'recipient_verify_max_concurrency = 1000',
    'recipient_verify_rate_limit = 1000000',
    '',
  ].join('\n'),
  'bench.conf',
);
if (!loaded.config) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
const config = loaded.config;
const makeVerifier = () => new RecipientVerifier(config, { store: new MemoryStore(N * 2) }, pino({ level: 'silent' }));

async function verifyAll(v: RecipientVerifier, label: string, cached: boolean): Promise<number> {
  return pool(N, CONCURRENCY, async (i) => {
    const verdict = await v.verify(`user${i}@${label}.test`);
    if (verdict.status !== 'pass' || verdict.cached !== cached) throw new Error(`unexpected verdict ${verdict.status} ${verdict.reason} cached=${verdict.cached}`);
  });
}

// Warm-up: JIT, sockets.
await pool(200, CONCURRENCY, () => bareSession(sink.port));
await verifyAll(makeVerifier(), 'warm', false);

const baseMs = await pool(N, CONCURRENCY, () => bareSession(sink.port));
const basePerSec = (N / baseMs) * 1000;
console.log(`baseline: bare connect+greeting+QUIT, ${N} sessions at concurrency ${CONCURRENCY}: ${basePerSec.toFixed(0)}/s`);

// 1 and 2: the same verifier, first every recipient asked, then every one from the cache.
const v = makeVerifier();
const before = sink.connections;
const uncachedMs = await verifyAll(v, 'bench', false);
const uncachedPerSec = (N / uncachedMs) * 1000;
console.log(
  `uncached: ${N} distinct recipients at concurrency ${CONCURRENCY}: ${uncachedPerSec.toFixed(0)} verdicts/s ` +
    `(${(uncachedPerSec / basePerSec).toFixed(2)}x baseline; ${sink.connections - before} connections)`,
);
const cachedMs = await verifyAll(v, 'bench', true);
const cachedPerSec = (N / cachedMs) * 1000;
console.log(
  `cached: the same ${N} recipients again: ${cachedPerSec.toFixed(0)} verdicts/s ` +
    `(${(cachedPerSec / uncachedPerSec).toFixed(0)}x uncached, ${(cachedPerSec / basePerSec).toFixed(0)}x baseline)`,
);

// 3: identical recipients at once.
const v3 = makeVerifier();
const before3 = sink.connections;
const t3 = performance.now();
const all = await Promise.all(Array.from({ length: N }, () => v3.verify('same@bench.test')));
const ms3 = performance.now() - t3;
console.log(
  `single flight: ${N} concurrent identical recipients -> ${sink.connections - before3} connection(s), ` +
    `${all.filter((x) => x.status === 'pass').length}/${N} pass, ${ms3.toFixed(1)} ms in all ` +
    `(${(ms3 / (baseMs / N)).toFixed(1)}x one amortised baseline session)`,
);

await sink.close();
