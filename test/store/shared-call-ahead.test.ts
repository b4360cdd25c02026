/**
 * Two recipient call-ahead services, each with its own Redis connections as
 * two processes have, sharing one real redis-server (docs/operations.md):
 * one call-ahead per recipient between them, one cache, under keys of
 * their own beside the sender CBV's (docs/recipient-verification.md).
 */
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/cbv/cache.js';
import { parseConfigText } from '../../src/config/load.js';
import { RecipientVerifier } from '../../src/delivery/call-ahead.js';
import { RedisFlights } from '../../src/store/redis-flights.js';
import { RedisLimits } from '../../src/store/redis-limits.js';
import { RedisLink } from '../../src/store/redis-link.js';
import { SharedCbvStore } from '../../src/store/shared-cbv-store.js';
import { NO_REDIS, TestRedis } from '../helpers/redis-server.js';
import { type SmtpRemote, startSmtpRemote } from '../helpers/smtp-remote.js';

const silent = pino({ level: 'silent' });
let redis: TestRedis;
let remote: SmtpRemote;
const links: RedisLink[] = [];
let prefixN = 0;

beforeAll(async () => {
  if (NO_REDIS) return;
  redis = await TestRedis.start();
  // RCPT answers slowly, so that the two processes' questions really overlap.
  remote = await startSmtpRemote({ rcpt: () => ({ code: 250, message: 'ok', delayMs: 200 }) });
});
afterAll(async () => {
  await remote?.close();
  await redis?.stop();
});
afterEach(async () => {
  while (links.length) await links.pop()!.close();
});

/** One "process": its own link, store, flights and limits, over `prefix`. */
async function processVerifier(prefix: string): Promise<{ v: RecipientVerifier; store: SharedCbvStore }> {
  const link = new RedisLink({ url: redis.url, keyPrefix: prefix, commandTimeoutMs: 500, logger: silent });
  links.push(link);
  await link.settled(2000);
  const loaded = parseConfigText(`Gateway = "127.0.0.1:${remote.port}"\nTLS = no\nRecipient_Verify = true\nrecipient_verify_timeout = 5\n`, 'shared.conf');
  const store = new SharedCbvStore(link, new MemoryStore(1000));
  const v = new RecipientVerifier(loaded.config!, { store, flights: new RedisFlights(link, 50), sharedLimits: new RedisLimits(link) }, silent);
  return { v, store };
}

describe.skipIf(NO_REDIS)('recipient call-ahead state shared through Redis (needs redis-server)', () => {
  it('many identical questions over two processes make one connection; the verdict is cached for both, under its own keys', async () => {
    const prefix = `rv${++prefixN}:`;
    const a = await processVerifier(prefix);
    const b = await processVerifier(prefix);
    const before = remote.connections;
    const verdicts = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).v.verify('bob@dest.test')));
    expect(new Set(verdicts.map((x) => x.status))).toEqual(new Set(['pass']));
    expect(remote.connections - before).toBe(1);
    expect(a.v.stats.probes + b.v.stats.probes).toBe(1);
    expect(await b.v.verify('bob@dest.test')).toMatchObject({ cached: true });
    // The sender CBV's key for the same address stays empty.
    expect(await a.store.get('a:bob@dest.test')).toBeUndefined();
    expect(await a.store.get('rcpt:a:bob@dest.test')).toMatchObject({ reason: 'accepted' });
  });
});
