/**
 * Two `smtp-cbv serve` processes sharing one real redis-server, as two
 * hosts would: SMTP sessions spread over both make one probe per address
 * and stay within one per-domain rate between them, a verdict learnt by
 * one answers the other, a shared throttle counts both processes' messages,
 * a value one keeps in a replicated cache the other reads, and Redis dying
 * mid-run costs no session its answer (docs/operations.md, "Failure
 * modes").
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneMx } from '../helpers/cbv-fixture.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { freePort } from '../helpers/free-port.js';
import { parsePrometheus, valueOf } from '../helpers/prometheus.js';
import { NO_REDIS, TestRedis } from '../helpers/redis-server.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';
import { type SmtpRemote, startSmtpRemote } from '../helpers/smtp-remote.js';

let dir: string;
let redis: TestRedis;
let dns: TestDnsServer;
let remote: SmtpRemote;
const servers: Array<{ child: ChildProcess; smtp: number; ops: number; out: () => string }> = [];

/**
 * The rcptto phase reads the verdict, so each session waits for it; a rejected sender is refused.
 * Mail from throttled@ counts in a shared throttle of 3 messages every 10 minutes (ec_shared_throttle_*).
 * Mail from cacheset@ keeps a value in a replicated cache, and mail from cacheget@ is answered 452 once it reads it (ec_cluster_cache_*).
 */
const RCPT = `require ["environment", "reject", "envelope"];
if environment :is "vnd.smtp-cbv.smtp_cbv_result" "error" { reject "sender rejected"; }
if envelope :localpart :is "from" "throttled" {
  ec_shared_throttle_create "rcpt" "3/600";
  ec_shared_throttle_inc "rcpt";
  $over = ec_shared_throttle_check "rcpt";
  if ec_test :is $over "true" { ec_action 451 "4.7.1 over the shared rate"; }
}
if envelope :localpart :is "from" "cacheset" { ec_cluster_cache_set "hosts" "k" "kept by one" "0"; }
if envelope :localpart :is "from" "cacheget" {
  $v = ec_cluster_cache_get "hosts" "k";
  if ec_test :is $v "kept by one" { ec_action 452 "4.7.1 read what the other process kept"; }
}
`;

async function startServe(name: string): Promise<(typeof servers)[number]> {
  const smtp = await freePort();
  const ops = await freePort();
  const conf = join(dir, `${name}.conf`);
  await writeFile(
    conf,
    `spool_dir = "spool-${name}"
ESMTP_Listener { max_connections_per_ip = 5000  Listen "127.0.0.1:${smtp}" { } }
smtp_cbv {
  dns_servers = ( "${dns.address}" )
  port = ${remote.port}
  allow_targets = ( "127.0.0.0/8" )
  helo = "probe.test"
  timeout = 20
  max_concurrency = 5000
  max_concurrency_per_domain = 100
  domain_rate_limit = 5
}
# A generous command timeout: 1,000 sessions on a shared 2-core machine lag
# the event loop, and this test is about sharing, not about a slow Redis.
redis { url = "${redis.url}" key_prefix = "serve-test:" command_timeout = 5 }
sieve { script "rcptto_phase1" { source = "rcpt.siv" } }
metrics { listen = "127.0.0.1:${ops}" }
`,
  );
  const bin = join(import.meta.dirname, '../../bin/smtp-cbv.js');
  const child = spawn(process.execPath, [bin, 'serve', '--config', conf, '--drain', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const s = { child, smtp, ops, out: () => out };
  servers.push(s);
  for (let i = 0; i < 1200 && !(out.includes('"event":"listening"') && out.includes('"event":"redis.up"')); i++) await new Promise((r) => setTimeout(r, 50));
  expect(out).toContain('"event":"redis.up"');
  return s;
}

/** One SMTP session up to RCPT TO; resolves with the RCPT reply code. */
async function session(port: number, from: string): Promise<number> {
  const c = await RawSmtpClient.open(port);
  try {
    await c.reply();
    await c.command('EHLO client.test');
    const mail = await c.command(`MAIL FROM:<${from}>`);
    if (mail.code !== 250) return mail.code;
    return (await c.command('RCPT TO:<postmaster@here.test>')).code;
  } finally {
    await c.command('QUIT').catch(() => undefined);
  }
}

async function metric(s: (typeof servers)[number], name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.ops}/metrics`)).text();
  return valueOf(parsePrometheus(text).samples, name, labels);
}

beforeAll(async () => {
  if (NO_REDIS) return;
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-serve-redis-'));
  await writeFile(join(dir, 'rcpt.siv'), RCPT);
  redis = await TestRedis.start();
  dns = await startDnsServer({ ...oneMx('example.test'), ...oneMx('forged.test') });
  // RCPT answers slowly, so that the sessions really overlap the one probe.
  remote = await startSmtpRemote({ rcpt: (a) => (a.startsWith('nobody') ? { code: 550, message: '5.1.1 no such user', delayMs: 500 } : { code: 250, message: 'ok', delayMs: 500 }) });
  await Promise.all([startServe('a'), startServe('b')]);
}, 120_000);

afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  await remote?.close();
  await dns?.close();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(NO_REDIS)('two serve processes sharing one Redis (needs redis-server)', () => {
  it('1,000 concurrent sessions with one sender over both processes: one connection at the remote', async () => {
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    const codes = await Promise.all(Array.from({ length: 1000 }, (_, i) => session(i % 2 ? a.smtp : b.smtp, 'alice@example.test')));
    expect(codes.filter((c) => c !== 250)).toEqual([]);
    // Redis stayed up throughout (a process that lost it would rightly probe for itself).
    expect(servers.flatMap((s) => s.out().split('\n').filter((l) => l.includes('"event":"redis.down"')))).toEqual([]);
    expect(remote.connections).toBe(1);
    expect(remote.log.filter((l) => l === 'RCPT <alice@example.test>')).toHaveLength(1);
    // Each process served its half; their checks were answered by one probe.
    const probes = (await metric(a, 'smtpcbv_cbv_probe_duration_seconds_count')) + (await metric(b, 'smtpcbv_cbv_probe_duration_seconds_count'));
    expect(probes).toBe(1);
  }, 120_000);

  it('a verdict learnt by one process answers the other from the shared cache', async () => {
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    const before = remote.connections;
    expect(await session(a.smtp, 'nobody@example.test')).toBe(550);
    expect(await session(b.smtp, 'nobody@example.test')).toBe(550);
    expect(remote.connections).toBe(before + 1);
    expect(await metric(b, 'smtpcbv_cbv_cache_hits_total')).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('a forged-sender flood over both processes stays within one per-domain rate', async () => {
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    const before = remote.log.filter((l) => l.includes('@forged.test')).length;
    await Promise.all(Array.from({ length: 100 }, (_, i) => session(i % 2 ? a.smtp : b.smtp, `forged${i}@forged.test`)));
    expect(remote.log.filter((l) => l.includes('@forged.test')).length - before).toBe(5);
    const limited = (await metric(a, 'smtpcbv_cbv_rate_limited_total')) + (await metric(b, 'smtpcbv_cbv_rate_limited_total'));
    expect(limited).toBe(95);
  }, 60_000);

  it('a shared throttle counts the messages of both processes: the fourth is refused, whichever process takes it', async () => {
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    const codes = [];
    for (const s of [a, b, a, b, a]) codes.push(await session(s.smtp, 'throttled@example.test'));
    expect(codes).toEqual([250, 250, 250, 451, 451]);
  }, 60_000);

  it('a value one process keeps in a replicated cache, the other reads', async () => {
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    expect(await session(b.smtp, 'cacheget@example.test')).toBe(250);
    expect(await session(a.smtp, 'cacheset@example.test')).toBe(250);
    expect(await session(b.smtp, 'cacheget@example.test')).toBe(452);
  }, 60_000);

  it('Redis killed mid-run: sessions keep their answers from local state; the shared state is used again when it returns', async () => {
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    await redis.kill();
    const during = await Promise.all([session(a.smtp, 'bob@example.test'), session(b.smtp, 'bob@example.test'), session(a.smtp, 'nobody@example.test'), session(b.smtp, 'carol@example.test')]);
    // Each process probes for itself now; a remembers nobody@ from before.
    expect(during).toEqual([250, 250, 550, 250]);
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();
    expect(await metric(a, 'smtpcbv_redis_up')).toBe(0);

    await redis.resume();
    for (let i = 0; i < 100 && ((await metric(a, 'smtpcbv_redis_up')) === 0 || (await metric(b, 'smtpcbv_redis_up')) === 0); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await metric(a, 'smtpcbv_redis_up')).toBe(1);
    const before = remote.connections;
    expect(await session(a.smtp, 'dave@example.test')).toBe(250);
    expect(await session(b.smtp, 'dave@example.test')).toBe(250);
    expect(remote.connections).toBe(before + 1);
    // One line per change of state, not one per failed command.
    expect(a.out().split('"event":"redis.down"').length - 1).toBe(1);
  }, 60_000);
});
