/**
 * What `smtp-cbv serve --workers 2` shares out among its workers, as an
 * operator runs it (child processes).
 *
 * The bounds set for the whole server: `max_connections` connections at
 * once and `max_connections_per_ip` from one address, all workers together,
 * and Momentum's per-IP series (ec_ip_connections), named throttles
 * (ec_throttle_*), without Redis shared throttles (ec_shared_throttle_*),
 * gauge caches (ec_gauge_cache_*), replicated caches (ec_cluster_cache_*)
 * and live connections (audit_connections_on_service) counted over every
 * worker.
 *
 * The CBV state without Redis: one per-domain probe rate for all workers,
 * and one verdict cache.
 *
 * The delivery queue, relaying to a next hop that is down: every queue
 * entry has one owner. A
 * worker started in a dead one's place takes over the dead one's entries,
 * never those of its live sibling; a restart with fewer workers takes over
 * the entries of the workers that are no more; `smtp-cbv queue list` sees
 * every worker's entries. Each message reaches the next hop once.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, type CliChild, startCli } from '../helpers/cli-child.js';
import { oneMx } from '../helpers/cbv-fixture.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { freePort } from '../helpers/free-port.js';
import { type MailSink, startMailSink } from '../helpers/mail-sink.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';
import { startSmtpRemote } from '../helpers/smtp-remote.js';

const MESSAGES = 8;

let dir: string;
let conf: string;
let sink: MailSink;
let smtpPort: number;
let server: CliChild | undefined;

const start = (workers: number, config = conf): CliChild => (server = startCli(['serve', '--config', config, '--workers', String(workers), '--drain', '1']));
const events = (name: string) => server!.events(name);
const until = (what: string, cond: () => boolean | Promise<boolean>, ms?: number) => server!.until(what, cond, ms);

/** Both workers listening. */
const bothListening = () => until('two workers', () => events('listening').some((e) => e.role === 'primary' && e.workers === 2), 60_000);

/** Sends the MESSAGES, each on its own connection (so the workers take turns), each accepted. */
async function sendAll(): Promise<void> {
  for (let i = 0; i < MESSAGES; i++) {
    const c = await RawSmtpClient.open(smtpPort);
    expect((await sendMail(c, 'a@sender.test', ['b@dest.test'], `Subject: m-${i}\r\n\r\nbody ${i}\r\n`)).end?.code).toBe(250);
    await c.command('QUIT');
    await c.waitClosed();
  }
}

function queued(): Array<{ id: string }> {
  const r = spawnSync(process.execPath, [bin, 'queue', 'list', '--config', conf, '--json'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Array<{ id: string }>;
}

/** The tokens (one per message) the next hop received, with how many times each came. */
function arrivals(): Map<string, number> {
  const seen = new Map<string, number>();
  for (const m of sink.messages) {
    const token = /Subject: (m-\d+)/.exec(m.data)?.[1] ?? '?';
    seen.set(token, (seen.get(token) ?? 0) + 1);
  }
  return seen;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-workers-queue-'));
  smtpPort = await freePort();
  // The next hop, down until the test starts it again on the same port.
  sink = await startMailSink();
  await sink.stop();
  conf = join(dir, 'server.conf');
  await writeFile(
    conf,
    [
      'spool_dir = "spool"',
      'queue_dir = "queue"',
      `Gateway = "127.0.0.1:${sink.port}"`,
      'TLS = no',
      'Connect_Timeout = 1',
      'Retry_Interval = 0.3',
      'retry_jitter = 0',
      `ESMTP_Listener { Listen "127.0.0.1:${smtpPort}" { } hostname = "relay.test" }`,
      '',
    ].join('\n'),
  );
}, 30_000);

afterAll(async () => {
  server?.child.kill('SIGKILL');
  await sink?.stop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/**
 * `serve --workers 2` on a port of its own, with `listener` in its
 * ESMTP_Listener scope and `rest` after it; resolves with the port once
 * both workers listen.
 */
async function serveTwo(name: string, listener: string, rest = ''): Promise<number> {
  const port = await freePort();
  const conf = join(dir, `${name}.conf`);
  await writeFile(conf, `spool_dir = "spool-${name}"\nESMTP_Listener { ${listener} Listen "127.0.0.1:${port}" { } }\n${rest}`);
  start(2, conf);
  await bothListening();
  return port;
}

/** The greetings of four connections opened one after the other (so that the workers take turns), each closed at once, or kept open in `held`. */
async function greetingsOf(port: number, held?: RawSmtpClient[]): Promise<string[]> {
  const greetings: string[] = [];
  for (let i = 0; i < 4; i++) {
    const c = await RawSmtpClient.open(port);
    greetings.push((await c.reply()).text);
    if (held) held.push(c);
    else c.close();
  }
  return greetings;
}

/**
 * Two workers running `script` at connect, four connections one after the
 * other (so that the workers take turns): the third and fourth get
 * `refusal`. Each worker alone would have counted two at most, and let all
 * four in.
 */
async function thirdRefused(name: string, script: string, refusal: string, o: { holdOpen?: boolean } = {}): Promise<void> {
  await writeFile(join(dir, `${name}.siv`), script);
  const port = await serveTwo(name, '', `sieve { script "connect_phase1" { source = "${name}.siv" } }\n`);
  const held: RawSmtpClient[] = [];
  expect(await greetingsOf(port, o.holdOpen ? held : undefined)).toEqual([expect.stringMatching(/^220 /), expect.stringMatching(/^220 /), refusal, refusal]);
  for (const c of held) c.close();
  await server!.stop();
}

/** Every message reached the next hop, and none twice (retries come every 0.3 s: a second copy would have come by now). */
async function eachDeliveredOnce(): Promise<void> {
  await until('every message at the next hop', () => arrivals().size === MESSAGES);
  await new Promise((r) => setTimeout(r, 1500));
  expect([...arrivals().values()].every((n) => n === 1), JSON.stringify([...arrivals()])).toBe(true);
  await until('an empty queue', () => queued().length === 0);
}

describe('serve --workers: the bounds of the whole server', () => {
  it('holds max_connections for all workers together', async () => {
    const port = await serveTwo('bounded', 'max_connections = 2');
    const open: RawSmtpClient[] = [];
    const greetings = (await greetingsOf(port, open)).map((g) => Number(g.slice(0, 3)));
    // Each worker keeps one of the two: with both shares in use, the rest are refused.
    expect(greetings.filter((g) => g === 220).length).toBeLessThanOrEqual(2);
    expect(greetings.filter((g) => g === 421).length).toBeGreaterThanOrEqual(2);
    for (const c of open) c.close();
    await server!.stop();
  }, 90_000);

  it('holds max_connections_per_ip for all workers together, without Redis: the primary counts', async () => {
    const port = await serveTwo('per-ip', 'max_connections_per_ip = 2');
    const greeted: RawSmtpClient[] = [];
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await RawSmtpClient.open(port);
      const code = (await c.reply()).code;
      codes.push(code);
      if (code === 220) greeted.push(c);
      else c.close();
    }
    // Exactly the two the server allows, whichever worker each reached.
    expect(codes.filter((g) => g === 220)).toHaveLength(2);
    // One leaves: its place is free again, counted in the primary too.
    await greeted.shift()!.command('QUIT');
    await server!.until('the next connection to be greeted', async () => {
      const c = await RawSmtpClient.open(port);
      const code = (await c.reply()).code;
      if (code === 220) greeted.push(c);
      else c.close();
      return code === 220;
    });
    for (const c of greeted) c.close();
    await server!.stop();
  }, 90_000);

  it("counts Momentum's per-IP series for all workers together, without Redis: the third connection is refused", async () => {
    await thirdRefused('counted', '$n = ec_ip_connections "0" "32";\nif ec_test :value "gt" :comparator "i;ascii-numeric" "${n}" "2" { ec_action 421 "4.7.0 too many connections"; }\n', '421 4.7.0 too many connections');
  }, 90_000);
});

describe('serve --workers: named and shared throttles', () => {
  // Shared throttles without Redis are the server's (docs/operations.md, "Workers"): counted in the primary too, apart from the named ones.
  it.each(['ec_throttle', 'ec_shared_throttle'])('%s_*: one throttle for both workers together, the third connection in the window refused', async (family) => {
    await thirdRefused(
      `throttled-${family}`,
      `${family}_create "connects" "2/3600";\n${family}_inc "connects";\n$over = ${family}_check "connects";\nif ec_test :is $over "true" { ec_action 421 "4.7.0 throttled"; }\n`,
      '421 4.7.0 throttled',
    );
  }, 90_000);
});

describe('serve --workers: named throttles', () => {
  it('counts a named throttle for both workers together: the third connection in the window is refused', async () => {
    await thirdRefused('throttled', 'ec_throttle_create "connects" "2/3600";\nec_throttle_inc "connects";\n$over = ec_throttle_check "connects";\nif ec_test :is $over "true" { ec_action 421 "4.7.0 throttled"; }\n', '421 4.7.0 throttled');
  }, 90_000);
});

describe('serve --workers: gauge caches and live connections', () => {
  it('moves one gauge for both workers together: the third connection is refused', async () => {
    await thirdRefused('gauged', 'ec_gauge_cache_init "connects" 10 300;\nec_gauge_cache_inc "connects" "all";\n$n = ec_gauge_cache_get "connects" "all";\nif ec_test :value "gt" :comparator "i;ascii-numeric" $n "2" { ec_action 421 "4.7.0 gauged"; }\n', '421 4.7.0 gauged');
  }, 90_000);

  it('keeps one replicated cache for both workers, without Redis: what one worker kept, the other reads', async () => {
    // Each connection adds an x to the value; the third reads two, whichever worker took each.
    await thirdRefused('cached', '$n = ec_cluster_cache_get "connects" "seen";\nec_cluster_cache_set "connects" "seen" "${n}x" "0";\nif ec_test :matches "${n}" "xx*" { ec_action 421 "4.7.0 cached"; }\n', '421 4.7.0 cached');
  }, 90_000);

  it("counts audit_connections_on_service over both workers' open connections", async () => {
    // Held open: each worker holds two, and each alone would count its own two.
    await thirdRefused('audited', '($n) = audit_connections_on_service "/24";\nif ec_test :value "gt" :comparator "i;ascii-numeric" "${n}" "2" { ec_action 421 "4.7.0 busy"; }\n', '421 4.7.0 busy', { holdOpen: true });
  }, 90_000);
});

describe('serve --workers: the duplicate list without Redis', () => {
  it('finds a message one worker delivered a duplicate on the other (RFC 7352)', async () => {
    await writeFile(join(dir, 'data.siv'), 'require ["duplicate"];\nif duplicate { discard; }\n');
    const port = await serveTwo('duplicate', '', 'sieve { script "data_phase1" { source = "data.siv" } }\n');
    // One after the other, so that the workers take turns: each alone would store the first it saw.
    for (let i = 0; i < 4; i++) {
      const c = await RawSmtpClient.open(port);
      const { end } = await sendMail(c, 'alice@sender.test', ['bob@here.test'], 'Message-ID: <same@sender.test>\r\nSubject: t\r\n\r\nhello\r\n');
      expect(end?.code).toBe(250);
      c.close();
    }
    expect(await readdir(join(dir, 'spool-duplicate', 'new'))).toHaveLength(1);
    await server!.stop();
  }, 90_000);
});

describe('serve --workers: vacation replies without Redis', () => {
  it('sends a sender one reply in the period, whichever worker took each message (RFC 5230 4.2)', async () => {
    const next = await startMailSink();
    try {
      await writeFile(join(dir, 'vacation.siv'), 'require ["vacation"];\nvacation :days 1 "Away this week.";\n');
      const port = await serveTwo('vacation', '', `queue_dir = "queue-vacation"\nGateway = "127.0.0.1:${next.port}"\nTLS = no\nsieve { script "data_phase1" { source = "vacation.siv" } }\n`);
      // One after the other, so that the workers take turns: each alone would reply to the first it saw.
      for (let i = 0; i < 4; i++) {
        const c = await RawSmtpClient.open(port);
        const { end } = await sendMail(c, 'alice@sender.test', ['bob@here.test'], `From: alice@sender.test\r\nTo: bob@here.test\r\nSubject: m-${i}\r\n\r\nhello\r\n`);
        expect(end?.code).toBe(250);
        c.close();
      }
      await next.waitFor(5);
      // Time for a second reply to come, had one been queued.
      await new Promise((r) => setTimeout(r, 1000));
      expect(next.messages.filter((m) => m.to.includes('alice@sender.test'))).toHaveLength(1);
      expect(next.messages.filter((m) => m.to.includes('bob@here.test'))).toHaveLength(4);
      await server!.stop();
    } finally {
      await next.stop();
    }
  }, 90_000);
});

describe('serve --workers: CBV state without Redis', () => {
  it('keeps one per-domain probe rate and one probe per address for all workers, and a verdict one worker learnt answers the other', async () => {
    const dns = await startDnsServer({ ...oneMx('example.test'), ...oneMx('forged.test') });
    // RCPT answers slowly, so that concurrent sessions really overlap one probe.
    const remote = await startSmtpRemote({ rcpt: (a) => (a.startsWith('nobody') ? { code: 550, message: '5.1.1 no such user' } : { code: 250, message: 'ok', delayMs: a.startsWith('alice') ? 500 : 0 }) });
    try {
      await writeFile(join(dir, 'rcpt.siv'), 'require ["environment", "reject"];\nif environment :is "vnd.smtp-cbv.smtp_cbv_result" "error" { reject "sender rejected"; }\n');
      const port = await serveTwo(
        'cbv',
        'max_connections_per_ip = 5000',
        `smtp_cbv {\n  dns_servers = ( "${dns.address}" )\n  port = ${remote.port}\n  allow_targets = ( "127.0.0.0/8" )\n  helo = "probe.test"\n  timeout = 20\n  domain_rate_limit = 5\n}\n` +
          `sieve { script "rcptto_phase1" { source = "rcpt.siv" } }\n`,
      );
      const session = async (from: string): Promise<number> => {
        const c = await RawSmtpClient.open(port);
        try {
          await c.reply();
          await c.command('EHLO client.test');
          if ((await c.command(`MAIL FROM:<${from}>`)).code !== 250) return 0;
          return (await c.command('RCPT TO:<postmaster@here.test>')).code;
        } finally {
          await c.command('QUIT').catch(() => undefined);
          c.close();
        }
      };
      // Sessions one after the other, so that the workers take turns.
      expect(await session('nobody@example.test')).toBe(550);
      expect(await session('nobody@example.test')).toBe(550);
      expect(remote.log.filter((l) => l === 'RCPT <nobody@example.test>')).toHaveLength(1);
      // 200 sessions at once with one new sender over both workers: one probe.
      const codes = await Promise.all(Array.from({ length: 200 }, () => session('alice@example.test')));
      expect(codes.filter((c) => c !== 250)).toEqual([]);
      expect(remote.log.filter((l) => l === 'RCPT <alice@example.test>')).toHaveLength(1);
      // A forged-sender flood over both workers: five probes in all, not five each.
      await Promise.all(Array.from({ length: 40 }, (_, i) => session(`forged${i}@forged.test`)));
      expect(remote.log.filter((l) => l.includes('@forged.test'))).toHaveLength(5);
      await server!.stop();
    } finally {
      await remote.close();
      await dns.close();
    }
  }, 90_000);
});

describe('serve --workers with a delivery queue', () => {
  it("gives every entry one owner: a replaced worker takes the dead one's entries only; fewer workers take over the rest", async () => {
    start(2);
    await bothListening();
    await sendAll();
    // Both workers took some (round robin), and tried them.
    await until('attempts by both workers', () => new Set(events('delivery.attempt').map((e) => e.worker)).size === 2);
    expect(queued()).toHaveLength(MESSAGES);

    // One worker dies; the one started in its place must not take its live sibling's entries.
    process.kill(events('worker-listening')[0]!.pid as number, 'SIGKILL');
    await until('the replacement worker', () => events('worker-listening').length === 3);
    await new Promise((r) => setTimeout(r, 500));
    await sink.start();
    await eachDeliveredOnce();
    await server!.stop();

    // Queued under two workers with the next hop down; then one worker takes over both shares.
    await sink.stop();
    sink.messages.length = 0;
    start(2);
    await bothListening();
    await sendAll();
    await until('attempts by both workers', () => new Set(events('delivery.attempt').map((e) => e.worker)).size === 2);
    await server!.stop();
    expect(queued()).toHaveLength(MESSAGES);
    start(1);
    await until('the share of slot 1 taken over', () => events('queue.adopted').length === 1);
    expect(events('queue.adopted')[0]!.entries).toBeGreaterThan(0);
    await sink.start();
    await eachDeliveredOnce();
    await server!.stop();
  }, 120_000);
});
