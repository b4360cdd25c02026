/**
 * The cost of message authentication (docs/authentication.md): accept rate
 * with SPF, DKIM and DMARC on against off, in the same run, same process,
 * same policy. 1 KB DKIM-signed messages from a domain whose SPF, DKIM and
 * DMARC all pass, 20 parallel clients, a new connection per message. The
 * DNS server is in-process on 127.0.0.1. Measured twice: without the DNS
 * answer cache, where each message costs its real look-ups (SPF of MAIL
 * FROM and HELO, the HELO's A record, the DKIM key, the DMARC policy) on
 * top of the RSA check, and with it (src/auth/dns-cache.ts), as a server
 * runs, where a run of mail from one domain asks once per TTL.
 */
import { Resolver } from 'node:dns/promises';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { createAuthResolve } from '../src/auth/dns.js';
import { LocalStore } from '../src/delivery/local-store.js';
import { MaildirSpool } from '../src/delivery/maildir.js';
import { SmtpFront } from '../src/frontdoors/smtp/smtp-front.js';
import { emptyDecision } from '../src/session/decide.js';
import { MessageAuthentication } from '../src/session/message-authentication.js';
import type { Policy } from '../src/session/policy.js';
import type { SessionServices } from '../src/session/session.js';
import { message, signed, startAuthDns } from '../test/helpers/auth-zone.js';
import { BODY_1K, sendMany } from './one-message.js';
import { benchTempDir } from './temp-dirs.js';

const MESSAGES = 1000;
const CLIENTS = 20;

const acceptAll: Policy = { waitsForVerdict: () => false, run: async () => ({ decision: emptyDecision(), failed: false }) };

async function main() {
  const { dir, remove: removeDir } = await benchTempDir('smtp-cbv-bench-auth-');
  const z = await startAuthDns();
  const logger = pino({ level: 'silent' });
  const spools = [new MaildirSpool(join(dir, 'off')), new MaildirSpool(join(dir, 'on')), new MaildirSpool(join(dir, 'cached')), new MaildirSpool(join(dir, 'cares'))] as const;
  for (const s of spools) await s.init();
  const base: SessionServices = { logger, counters: new Map(), functionServices: {}, store: new LocalStore(spools[0]), maxTarpitMs: 0 };
  const dns = { servers: [z.dns.address], timeoutMs: 2000, tries: 2 };
  // What the checks asked before the cache: node's Resolver (c-ares), which keeps nothing.
  const cares = new Resolver({ timeout: dns.timeoutMs, tries: dns.tries });
  cares.setServers(dns.servers);
  const resolvers = {
    cares: (name: string, type: string) => cares.resolve(name, type) as Promise<string[]>,
    uncached: createAuthResolve({ ...dns, cache: false }),
    cached: createAuthResolve(dns),
  };
  const authentication = (how: keyof typeof resolvers) =>
    new MessageAuthentication(
      { spf: { contextVariable: 'spf_status', receivedSpf: true, authResults: true, helo: true }, dkim: { minKeyBits: 1024, arc: true }, dmarc: true, authservId: null, timeoutMs: 20_000 },
      resolvers[how],
      logger,
    );
  const front = (services: SessionServices) =>
    new SmtpFront({ listeners: [{ host: '127.0.0.1', port: 0 }], hostname: 'bench.test', maxMessageSize: 1 << 20, maxConnectionsPerIp: 10_000, socketTimeoutMs: 30_000, logger }, { policy: () => acceptAll, services });
  const off = front(base);
  const on = front({ ...base, store: new LocalStore(spools[1]), authentication: authentication('uncached') });
  const cached = front({ ...base, store: new LocalStore(spools[2]), authentication: authentication('cached') });
  const viaCares = front({ ...base, store: new LocalStore(spools[3]), authentication: authentication('cares') });
  const [offAt] = await off.start();
  const [onAt] = await on.start();
  const [cachedAt] = await cached.start();
  const [caresAt] = await viaCares.start();

  const body = (await signed(message('alice@example.com', BODY_1K.slice(BODY_1K.indexOf('\r\n\r\n') + 4)), 'example.com', z.privateKey)).toString('latin1');
  const shape = { helo: 'client.example.com', from: 'alice@example.com', body };
  const load = async (port: number) => {
    const started = performance.now();
    const failed = await sendMany(port, 'bob@here.test', MESSAGES, CLIENTS, shape);
    return { perSecond: MESSAGES / ((performance.now() - started) / 1000), failed };
  };

  await load(offAt!.port); // warm up every path
  await load(onAt!.port);
  await load(cachedAt!.port);
  await load(caresAt!.port);
  const b = await load(offAt!.port);
  const a = await load(caresAt!.port);
  let queries = z.dns.queries.length;
  const o = await load(onAt!.port);
  const uncachedQueries = z.dns.queries.length - queries;
  queries = z.dns.queries.length;
  const c = await load(cachedAt!.port);
  const cachedQueries = z.dns.queries.length - queries;
  // What the checks concluded, from one stored message: the measurement means nothing unless they pass.
  const [one] = await readdir(join(dir, 'on', 'new'));
  const verdicts = [...(await readFile(join(dir, 'on', 'new', one!), 'utf8')).matchAll(/^\t(\w+=\w+)/gm)].map((m) => m[1]).join(' ');
  console.log(`messages/s, ${body.length} B DKIM-signed, ${CLIENTS} clients, new connection each (${MESSAGES} messages)`);
  console.log(`  baseline: authentication off              ${b.perSecond.toFixed(0).padStart(6)}/s  (failed ${b.failed})`);
  console.log(`  SPF + DKIM + ARC + DMARC, node's Resolver ${a.perSecond.toFixed(0).padStart(6)}/s  (failed ${a.failed})`);
  console.log(`  SPF + DKIM + ARC + DMARC, no DNS cache    ${o.perSecond.toFixed(0).padStart(6)}/s  (failed ${o.failed})`);
  console.log(`  SPF + DKIM + ARC + DMARC, DNS cache       ${c.perSecond.toFixed(0).padStart(6)}/s  (failed ${c.failed})`);
  console.log(`  ratio on / off, node's Resolver:          ${(a.perSecond / b.perSecond).toFixed(2)}`);
  console.log(`  ratio on / off, no cache:                 ${(o.perSecond / b.perSecond).toFixed(2)}`);
  console.log(`  ratio on / off, cache:                    ${(c.perSecond / b.perSecond).toFixed(2)}`);
  console.log(`  DNS queries per message, no cache:        ${(uncachedQueries / MESSAGES).toFixed(1)}`);
  console.log(`  DNS queries per message, cache:           ${(cachedQueries / MESSAGES).toFixed(2)}`);
  console.log(`  verdicts of a stored message:             ${verdicts}`);
  await off.close(0);
  await on.close(0);
  await cached.close(0);
  await viaCares.close(0);
  await z.dns.close();
  await removeDir();
}

await main();
