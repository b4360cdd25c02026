/**
 * Scaling out (docs/operations.md), as an operator runs it: `smtp-cbv serve`
 * child processes from configuration files.
 *
 *   1. Accept rate: whole transactions per second (EHLO, MAIL, RCPT, 1 KiB
 *      DATA, QUIT) with `--workers 2` against `--workers 1`, same policy,
 *      same client load, same run. On a 2-core machine the client driving
 *      the load shares the cores, so the ratio is a floor, not a ceiling.
 *   2. Probes reaching the remote: 1,000 sessions with one sender and 1,000
 *      with distinct senders of one domain, spread over two serve
 *      processes, with one shared Redis against without (the baseline:
 *      each process on its own). The per-domain rate is 60 per minute.
 *
 * Part 2 needs redis-server (Debian's package); without it, it says so.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { oneMx } from '../test/helpers/cbv-fixture.js';
import { startDnsServer, type TestDnsServer } from '../test/helpers/dns-server.js';
import { freePort } from '../test/helpers/free-port.js';
import { NO_REDIS, TestRedis } from '../test/helpers/redis-server.js';
import { RawSmtpClient } from '../test/helpers/smtp-client.js';
import { type SmtpRemote, startSmtpRemote } from '../test/helpers/smtp-remote.js';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'smtp-cbv.js');
const TRANSACTIONS = 3000;
const CLIENTS = 40;
const body = `Subject: bench\r\n\r\n${'x'.repeat(1000)}\r\n.`;

interface Serve {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/** Starts `serve` on a fresh port and waits until it (and, with workers, every worker) listens. */
async function serve(dir: string, name: string, body: string, args: string[] = []): Promise<Serve> {
  const port = await freePort();
  const conf = join(dir, `${name}.conf`);
  await writeFile(conf, `spool_dir = "spool-${name}"\nlogging { level = warn }\nESMTP_Listener { max_connections_per_ip = 5000 Listen "127.0.0.1:${port}" { } }\n${body}`);
  const child = spawn(process.execPath, [bin, 'serve', '--config', conf, '--drain', '1', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 600; i++) {
    if (await answers(port)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // With workers, give the second one time to join the round robin.
  if (args.includes('--workers')) await new Promise((r) => setTimeout(r, 3000));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, port, stop: async () => void (child.kill('SIGTERM'), await exited) };
}

async function answers(port: number): Promise<boolean> {
  try {
    const c = await RawSmtpClient.open(port);
    await c.reply();
    c.close();
    return true;
  } catch {
    return false;
  }
}

/** One session: every command's reply must be the expected code. */
async function transaction(port: number, from: string, withData: boolean): Promise<boolean> {
  const c = await RawSmtpClient.open(port);
  try {
    const steps: Array<[string, number]> = [['EHLO bench.test', 250], [`MAIL FROM:<${from}>`, 250], ['RCPT TO:<bob@here.test>', 250]];
    if (withData) steps.push(['DATA', 354], [body, 250]);
    if ((await c.reply()).code !== 220) return false;
    for (const [line, code] of steps) if ((await c.command(line)).code !== code) return false;
    c.write('QUIT\r\n');
    return true;
  } catch {
    return false;
  } finally {
    c.close();
  }
}

async function acceptRate(port: number): Promise<{ perSecond: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < TRANSACTIONS) {
        next++;
        if (!(await transaction(port, 'alice@sender.test', true))) failed++;
      }
    }),
  );
  return { perSecond: TRANSACTIONS / ((performance.now() - t0) / 1000), failed };
}

async function partAccept(dir: string) {
  const policy = 'sieve { script "mailfrom_phase1" { source = "keep.siv" } }\n';
  await writeFile(join(dir, 'keep.siv'), 'keep;\n');
  const results: Record<string, { perSecond: number; failed: number }> = {};
  for (const workers of [1, 2]) {
    const s = await serve(dir, `w${workers}`, policy, ['--workers', String(workers)]);
    await acceptRate(s.port); // warm-up run, discarded
    results[workers] = await acceptRate(s.port);
    await s.stop();
  }
  const [one, two] = [results[1]!, results[2]!];
  console.log(`accept rate, ${TRANSACTIONS} transactions, ${CLIENTS} clients`);
  console.log(`  --workers 1: ${one.perSecond.toFixed(0)}/s (failed ${one.failed})`);
  console.log(`  --workers 2: ${two.perSecond.toFixed(0)}/s (failed ${two.failed})  ratio ${(two.perSecond / one.perSecond).toFixed(2)}x`);
}

async function partProbes(dir: string, dns: TestDnsServer, remote: SmtpRemote) {
  if (NO_REDIS) {
    console.log('probes over two processes: skipped, redis-server is not installed');
    return;
  }
  const redis = await TestRedis.start();
  await writeFile(join(dir, 'rcpt.siv'), 'require ["environment", "reject"];\nif environment :is "vnd.smtp-cbv.smtp_cbv_result" "error" { reject "no"; }\n');
  const cbv = `smtp_cbv { dns_servers = ( "${dns.address}" ) port = ${remote.port} allow_targets = ( "127.0.0.0/8" ) helo = "bench.test" timeout = 30 max_concurrency = 5000 max_concurrency_per_domain = 1000 domain_rate_limit = 60 }\nsieve { script "rcptto_phase1" { source = "rcpt.siv" } }\n`;
  let run = 0;
  const measure = async (shared: boolean) => {
    const out: Record<string, number> = {};
    for (const kind of ['identical', 'distinct'] as const) {
      const prefix = `bench${++run}:`;
      const extra = shared ? `redis { url = "${redis.url}" key_prefix = "${prefix}" command_timeout = 5 }\n` : '';
      const a = await serve(dir, `a${run}`, cbv + extra);
      const b = await serve(dir, `b${run}`, cbv + extra);
      const before = remote.connections;
      const sessions = Array.from({ length: 1000 }, (_, i) => transaction(i % 2 ? a.port : b.port, kind === 'identical' ? `same${run}@sender.test` : `user${i}.${run}@sender.test`, false));
      await Promise.all(sessions);
      out[kind] = remote.connections - before;
      await Promise.all([a.stop(), b.stop()]);
    }
    return out;
  };
  const alone = await measure(false);
  const shared = await measure(true);
  await redis.stop();
  console.log('probes reaching the remote, 1,000 sessions over two serve processes (domain_rate_limit 60)');
  console.log(`  identical sender:        each process alone ${alone.identical}, shared Redis ${shared.identical}`);
  console.log(`  distinct senders, 1 dom: each process alone ${alone.distinct}, shared Redis ${shared.distinct}`);
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-bench-scale-'));
  const dns = await startDnsServer(oneMx('sender.test'));
  const remote = await startSmtpRemote({ rcpt: () => ({ code: 250, message: 'ok', delayMs: 300 }) });
  try {
    await partAccept(dir);
    await partProbes(dir, dns, remote);
  } finally {
    await remote.close();
    await dns.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
