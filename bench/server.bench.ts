/**
 * SMTP server throughput and memory, each against a baseline from the same
 * run:
 *   - messages per second, 1 KB messages, 20 parallel clients, a new
 *     connection per message, through the example configuration's policy
 *     (examples/smtp-cbv.conf) with CBV verdicts cached, into the durable
 *     Maildir spool, against a bare smtp-server that accepts everything;
 *   - resident memory of the server process holding 1,000 idle
 *     connections, then 1,000 more, against the bare smtp-server holding
 *     as many (idleRss says why the second thousand is measured apart).
 * Everything runs on 127.0.0.1; the CBV target is an in-process sink found
 * through an in-process DNS server.
 *
 * The load client runs three ways, and every ratio is printed:
 *   - in this process, sharing the event loop with both servers: the
 *     measure the accept-rate target (>= 0.65) was set on. The client's
 *     cost per message is the same for both servers, so the ratio is
 *     (client + bare) / (client + smtp-cbv) per message, and it does not
 *     depend on how many cores are free;
 *   - in a child process, as a real client is: on the 2-core machine the
 *     client then competes for the second core with the server's thread
 *     pool and spool writer thread, and the bare server runs at about the
 *     client's own speed, so this ratio says how close smtp-cbv comes to
 *     what the client can send, and moves with the machine's load;
 *   - with Postfix's smtp-source (when installed), the client an operator
 *     would reach for: C, so the cheapest per message, and the servers'
 *     own cost shows most.
 * Then, with smtp-source and when Haraka is installed (bench/haraka.ts),
 * smtp-cbv against Haraka: a whole MTA, set up to do less per message.
 * Then the same sessions once more without sockets: the session machine
 * driven directly (policy, CBV cache, spool and log line as served), its
 * main-thread CPU per message against smtp-cbv's served, to tell the
 * session's own work from what serving it over smtp-server adds.
 * With each rate, the CPU time per message of this process's main thread
 * (the servers' event loop; in-process, the client's too) and of the whole
 * process (its threads too): on a loaded machine the rates swing from run
 * to run, CPU per message much less. In the child-process mode the main
 * thread's CPU is the servers' alone, the cleanest measure of their cost.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import type { Logger } from 'pino';
import { loadConfig } from '../src/config/index.js';
import type { Config } from '../src/config/types.js';
import { assemble } from '../src/server/assemble.js';
import { createLogger } from '../src/server/logger.js';
import { MaildirSpool } from '../src/delivery/maildir.js';
import { SmtpFront } from '../src/frontdoors/smtp/smtp-front.js';
import { controlGreeting } from '../src/frontdoors/smtp/smtp-server-adapter.js';
import { createServices } from '../src/server/services.js';
import type { Policy } from '../src/session/policy.js';
import { type MessageStore, Session, type SessionServices } from '../src/session/session.js';
import { tuneHeap } from '../src/server/heap-tuning.js';
import { fileCreationUs, spreadTempDir } from './spread-dir.js';
import { benchTempDir } from './temp-dirs.js';
import { oneMx } from '../test/helpers/cbv-fixture.js';
import { startDnsServer } from '../test/helpers/dns-server.js';
import { oneMessage, sendMany } from './one-message.js';
import { startSmtpRemote } from '../test/helpers/smtp-remote.js';
import { harakaPackage, startHaraka } from './haraka.js';
import { mainThreadCpuMs } from './thread-cpu.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MESSAGES = 2000;
/** Each server's MESSAGES are sent in this many rounds, alternating with the other's. */
const ROUNDS = 8;
const CLIENTS = 20;
const IDLE = 1000;

interface Load {
  messages: number;
  /** How long sending them took, ms. */
  ms: number;
  failed: number;
  /** CPU time of this process's main thread, ms (the servers' event loop; in-process, the client's too). */
  mainMs: number;
  /** CPU time of this whole process, ms (its worker and thread-pool threads too). */
  processMs: number;
  /** Time the main thread was ready to run but waited for a CPU, ms, and how often another thread took its CPU (see mainThreadWaits). */
  waitMs: number;
  preempted: number;
}

type Client = 'in-process' | 'child' | 'smtp-source';

/** Sends `messages` from this process (the client shares the event loop with both servers), from a child process, or with Postfix's smtp-source. */
async function load(port: number, client: Client, messages: number): Promise<Load> {
  const main0 = mainThreadCpuMs();
  const waits0 = mainThreadWaits();
  const all0 = process.cpuUsage();
  const started = performance.now();
  const { ms, failed } = client === 'in-process' ? { failed: await sendMany(port, 'bob@here.test', messages, CLIENTS), ms: performance.now() - started } : client === 'child' ? await childLoad(port, messages) : await smtpSource(port, messages);
  const all = process.cpuUsage(all0);
  const waits = mainThreadWaits();
  return { messages, ms, failed, mainMs: mainThreadCpuMs() - main0, processMs: (all.user + all.system) / 1000, waitMs: waits.ms - waits0.ms, preempted: waits.preempted - waits0.preempted };
}

/**
 * A baseline's and smtp-cbv's loads, in ROUNDS alternating rounds
 * (baseline, ours, ours, baseline, ...): the machine's speed drifts from
 * second to second (it swung
 * by half between runs of the same code), and a drift then weighs on both
 * servers alike instead of on whichever ran second. The per-round ratios
 * show how much the machine moved meanwhile.
 */
async function rounds(baseline: (messages: number) => Promise<Load>, smtpCbv: (messages: number) => Promise<Load>): Promise<{ bare: Load; ours: Load; ratios: number[] }> {
  const bare = noLoad();
  const ours = noLoad();
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let b: Load;
    let o: Load;
    if (r % 2 === 0) {
      b = await baseline(MESSAGES / ROUNDS);
      o = await smtpCbv(MESSAGES / ROUNDS);
    } else {
      o = await smtpCbv(MESSAGES / ROUNDS);
      b = await baseline(MESSAGES / ROUNDS);
    }
    add(bare, b);
    add(ours, o);
    ratios.push(perSecond(o) / perSecond(b));
  }
  return { bare, ours, ratios };
}

const noLoad = (): Load => ({ messages: 0, ms: 0, failed: 0, mainMs: 0, processMs: 0, waitMs: 0, preempted: 0 });
function add(to: Load, l: Load): void {
  to.messages += l.messages;
  to.ms += l.ms;
  to.failed += l.failed;
  to.mainMs += l.mainMs;
  to.processMs += l.processMs;
  to.waitMs += l.waitMs;
  to.preempted += l.preempted;
}
const perSecond = (l: Load) => l.messages / (l.ms / 1000);
/** The middle ratio of the rounds: the machine's load swings from second to second, and a slow round weighs on the total. */
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The client in its own process; it times itself, from its first connection to its last reply. */
async function childLoad(port: number, messages: number): Promise<{ ms: number; failed: number }> {
  const child = spawn(process.execPath, [join(root, 'dist', 'bench', 'load-client.js'), String(port), 'bob@here.test', String(messages), String(CLIENTS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const code = await new Promise((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`the load client exited with ${code}`);
  return JSON.parse(out) as { ms: number; failed: number };
}

/**
 * Postfix's smtp-source (C, one process): the client an operator would
 * reach for, and the cheapest per message, so the servers' own cost shows
 * most. Timed from its start to its exit; a failed transaction makes it
 * exit non-zero.
 */
function smtpSource(port: number, messages: number): Promise<{ ms: number; failed: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('smtp-source', ['-s', String(CLIENTS), '-m', String(messages), '-l', '1024', '-f', 'alice@sender.test', '-t', 'bob@here.test', `127.0.0.1:${port}`], { env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` }, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ ms: performance.now() - started, failed: 0 }) : reject(new Error(`smtp-source exited ${code}`))));
  });
}

const hasSmtpSource = () => spawnSync('bash', ['-c', 'command -v smtp-source'], { env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } }).status === 0;

/**
 * How long the main thread has waited for a CPU while ready to run (the
 * second field of /proc/<pid>/task/<tid>/schedstat, ns), and how often it
 * was switched out without waiting for anything (nonvoluntary_ctxt_switches
 * in its status). smtp-cbv's spool writer thread, woken by the main
 * thread for each batch, and the thread-pool threads it wakes for its
 * syncs are often run on the main thread's CPU (the kernel prefers the
 * waker's CPU, whose caches hold what the wakee needs), taking it from the
 * event loop for their turn and leaving cold caches behind; the bare
 * smtp-server wakes almost no thread (docs/server.md, "Where the rest of
 * the gap goes"). Zeroes where /proc does not tell.
 */
function mainThreadWaits(): { ms: number; preempted: number } {
  try {
    const schedstat = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ');
    const status = readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8');
    return { ms: Number(schedstat[1]) / 1e6, preempted: Number(/nonvoluntary_ctxt_switches:\s*(\d+)/.exec(status)?.[1] ?? 0) };
  } catch {
    return { ms: 0, preempted: 0 };
  }
}

async function main() {
  // The collector set as `serve` sets it (src/server/heap-tuning.ts); `node --allocation-site-pretenuring dist/bench/server.bench.js` measures V8's default.
  const tuned = tuneHeap();
  // The spool where ext4 places it afresh, not where the test suite or the last run just deleted files (bench/spread-dir.ts).
  const spreadDir = await spreadTempDir('smtp-cbv-bench-');
  const dir = spreadDir.dir;
  const ordinary = await benchTempDir('smtp-cbv-bench-probe-');
  const sink = await startSmtpRemote({});
  const dns = await startDnsServer(oneMx('sender.test'));
  // The server's own logger at the default level (info: one line per transaction), written where it costs its serialisation and its writes but no terminal.
  const logger = createLogger({ level: 'info', dest: '/dev/null' }, {});

  // The example configuration, its CBV pointed at the local sink.
  const { config } = await loadConfig(join(root, 'examples', 'smtp-cbv.conf'));
  if (!config?.smtpCbv) throw new Error('examples/smtp-cbv.conf does not load');
  config.smtpCbv = { ...config.smtpCbv, dnsServers: [dns.address], port: sink.port, allowTargets: ['127.0.0.0/8'], helo: 'bench.test' };
  const { assembled } = await assemble(config);
  if (!assembled) throw new Error('the example policy does not compile');
  const spool = new MaildirSpool(join(dir, 'spool'));
  await spool.init();
  const services = createServices(config, logger, spool);
  const ours = await serve(config, logger, assembled.policy, services);

  const bare = new SMTPServer({ authOptional: true, disabledCommands: ['AUTH'], hideSTARTTLS: true, disableReverseLookup: true, logger: false, onData: (s, _session, cb) => { s.on('data', () => undefined); s.on('end', () => cb()); } });
  // Greeted as ours is: without smtp-server's fixed 100 ms early-talker wait.
  controlGreeting(bare, { greetPauseMs: 0, maxConnections: 1_000_000 });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const barePort = (bare.server.address() as { port: number }).port;

  const creationBefore = fileCreationUs(join(dir, 'probe-before'));
  const creationOrdinary = fileCreationUs(join(ordinary.dir, 'probe'));
  await oneMessage(ours.port, 'bob@here.test'); // the first message probes; the rest hit the cache
  await load(barePort, 'in-process', MESSAGES); // warm up both paths
  await load(ours.port, 'in-process', MESSAGES);
  console.log(`messages/s, 1 KB, ${CLIENTS} clients, new connection each (${MESSAGES} messages each, in ${ROUNDS} alternating rounds)`);
  console.log('  (both without smtp-server\'s fixed 100 ms greeting wait; smtp-cbv with greet_pause = 0, its default)');
  console.log(`  (V8 allocation-site pretenuring ${tuned ? 'off, as serve sets it' : 'as node\'s command line chose'})`);
  console.log(`  (the spool ${spreadDir.spread ? `in a directory ext4 placed afresh (chattr +T on its parent): the directory tried ${spreadDir.tries === 1 ? 'first' : `${spreadDir.tries} times`}, ${spreadDir.probeUs?.toFixed(0)} us a file there` : `in an ordinary temporary directory: it could not be placed afresh (${spreadDir.why})`})`);
  const clients: Client[] = ['in-process', 'child'];
  if (hasSmtpSource()) clients.push('smtp-source');
  else console.log(' smtp-source: skipped (the postfix package is not installed; test/interop/setup.sh installs it)');
  const mainPerMessage: Partial<Record<Client, number>> = {};
  for (const client of clients) {
    const { bare: b, ours: o, ratios } = await rounds((n) => load(barePort, client, n), (n) => load(ours.port, client, n));
    mainPerMessage[client] = o.mainMs / o.messages;
    const cpu = (l: Load) => `main thread ${(l.mainMs / l.messages).toFixed(2)} ms/msg, process ${(l.processMs / l.messages).toFixed(2)} ms/msg; main thread waited for a CPU ${((l.waitMs * 1000) / l.messages).toFixed(0)} us/msg, preempted ${(l.preempted / l.messages).toFixed(2)}/msg`;
    console.log(client === 'in-process' ? ' client in this process (the target\'s measure):' : client === 'child' ? ' client in a child process:' : ' Postfix\'s smtp-source, 20 sessions:');
    console.log(`  baseline: bare smtp-server accepting all   ${perSecond(b).toFixed(0).padStart(6)}/s  (failed ${b.failed}; ${cpu(b)})`);
    console.log(`  smtp-cbv, example policy, CBV cached       ${perSecond(o).toFixed(0).padStart(6)}/s  (failed ${o.failed}; ${cpu(o)})`);
    console.log(`  ratio smtp-cbv / bare:                     ${(perSecond(o) / perSecond(b)).toFixed(2)}  (rounds ${ratios.map((r) => r.toFixed(2)).join(', ')}, median ${median(ratios).toFixed(2)}; main-thread CPU per message, bare / smtp-cbv: ${(b.mainMs / b.messages / (o.mainMs / o.messages)).toFixed(2)})`);
  }
  await storeShare(barePort, services, config, logger, assembled.policy);
  if (clients.includes('smtp-source')) await againstHaraka(ours.port, dir);
  // The same sessions without sockets or smtp-server: how much of ours' main-thread time is the session's own work.
  await sessionsAlone(assembled.policy, services, MESSAGES / 4);
  const alone = await sessionsAlone(assembled.policy, services, MESSAGES);
  const served = mainPerMessage['smtp-source'] ?? mainPerMessage.child!;
  console.log(' the session machine alone: the same policy, CBV cache, spool and log line, no sockets, 20 sessions at once:');
  console.log(`  main thread ${alone.toFixed(3)} ms/msg; share of smtp-cbv's main thread served (${mainPerMessage['smtp-source'] !== undefined ? 'smtp-source' : 'child client'}): ${(alone / served).toFixed(2)}`);
  console.log(`  creating a 1 KB file: ${creationBefore.toFixed(0)} us of system time in the spool's directory before the runs, ${fileCreationUs(join(dir, 'probe-after')).toFixed(0)} after; ${creationOrdinary.toFixed(0)} in an ordinary temporary directory before the runs`);
  await ours.close();
  await new Promise<void>((r) => bare.close(() => r()));

  // Memory with idle connections, each server in its own process.
  const confFile = join(dir, 'idle.conf');
  const confText = (await readFile(join(root, 'examples', 'smtp-cbv.conf'), 'utf8'))
    .replace(/spool_dir = .*/, `spool_dir = "${join(dir, 'idle-spool')}"`)
    .replace(/max_connections_per_ip = \d+/, `max_connections_per_ip = 5000\n  max_connections = ${3 * IDLE}`)
    .replace(/Listen "127\.0\.0\.1:2525"/, 'Listen "127.0.0.1:2599"')
    .replace(/pretty = true/, 'pretty = false')
    .replace(/source = "policy\//g, `source = "${join(root, 'examples', 'policy')}/`);
  await writeFile(confFile, confText);
  const bareScript = join(dir, 'bare.mjs');
  await writeFile(
    bareScript,
    `import { SMTPServer } from ${JSON.stringify(join(root, 'node_modules', 'smtp-server', 'dist', 'esm', 'smtp-server.js'))};\n` +
      `const s = new SMTPServer({ authOptional: true, hideSTARTTLS: true, disableReverseLookup: true, logger: false });\n` +
      `s.listen(2598, '127.0.0.1', () => console.log('"event":"listening"'));\n`,
  );
  const oursRss = await idleRss([join(root, 'bin', 'smtp-cbv.js'), 'serve', '--config', confFile], 2599);
  const bareRss = await idleRss([bareScript], 2598);
  console.log(`resident memory with ${IDLE} idle connections`);
  console.log(`  baseline: bare smtp-server   ${mb(bareRss.idle)} MB  (${mb(bareRss.idle - bareRss.start)} MB for the connections; ${mb(bareRss.more - bareRss.idle)} MB for ${IDLE} more)`);
  console.log(`  smtp-cbv serve               ${mb(oursRss.idle)} MB  (${mb(oursRss.idle - oursRss.start)} MB for the connections; ${mb(oursRss.more - oursRss.idle)} MB for ${IDLE} more)`);
  console.log(`  ratio smtp-cbv / bare (connection cost): ${((oursRss.idle - oursRss.start) / (bareRss.idle - bareRss.start)).toFixed(2)}; for the next ${IDLE}: ${((oursRss.more - oursRss.idle) / (bareRss.more - bareRss.idle)).toFixed(2)}`);

  await sink.close();
  await dns.close();
  await spreadDir.remove();
  await ordinary.remove();
}

/**
 * smtp-cbv against Haraka (bench/haraka.ts), both served to smtp-source in
 * ROUNDS alternating rounds: a whole MTA doing less per message than
 * smtp-cbv (no policy, nothing written), where the bare smtp-server does
 * nothing at all.
 */
async function againstHaraka(oursPort: number, dir: string): Promise<void> {
  const pkg = harakaPackage(root);
  if (!pkg) {
    console.log(' Haraka: skipped (not installed: `npm install --no-save Haraka@3.3.4`, or HARAKA=<its package directory>)');
    return;
  }
  const haraka = await startHaraka(pkg, join(dir, 'haraka'), 'here.test');
  try {
    await smtpSource(haraka.port, MESSAGES / 4); // warm up
    // Haraka's load as a Load of its own process: its main thread's CPU, not this one's.
    const harakaLoad = async (messages: number): Promise<Load> => {
      const cpu0 = haraka.mainCpuMs();
      const { ms, failed } = await smtpSource(haraka.port, messages);
      return { ...noLoad(), messages, ms, failed, mainMs: haraka.mainCpuMs() - cpu0 };
    };
    const { bare: theirs, ours, ratios } = await rounds(harakaLoad, (n) => load(oursPort, 'smtp-source', n));
    console.log(` Haraka ${haraka.version} (rcpt_to.in_host_list and queue/discard: no policy, nothing written; one process, log level info), smtp-source, 20 sessions:`);
    console.log(`  Haraka                                     ${perSecond(theirs).toFixed(0).padStart(6)}/s  (its main thread ${(theirs.mainMs / theirs.messages).toFixed(2)} ms/msg)`);
    console.log(`  smtp-cbv, example policy, CBV cached       ${perSecond(ours).toFixed(0).padStart(6)}/s  (main thread ${(ours.mainMs / ours.messages).toFixed(2)} ms/msg)`);
    console.log(`  ratio smtp-cbv / Haraka:                   ${(perSecond(ours) / perSecond(theirs)).toFixed(2)}  (rounds ${ratios.map((x) => x.toFixed(2)).join(', ')}, median ${median(ratios).toFixed(2)})`);
  } finally {
    await haraka.stop();
  }
}

/**
 * Where the in-process gap goes: the same smtp-cbv, in rounds against the
 * same bare server, (1) with a store that keeps nothing and answers at
 * once, and (2) with one that keeps nothing and answers after the durable
 * spool's median wait, measured here first on the real spool. (1) against
 * the ratio above is what storing costs in all; (2) against (1) is what the
 * wait alone costs, with no work done anywhere; the rest is the spool's
 * work (docs/server.md, "Where the gap goes").
 */
async function storeShare(barePort: number, services: SessionServices, config: Config, logger: Logger, policy: Policy): Promise<void> {
  const waits: number[] = [];
  const real = services.store;
  const timed: MessageStore = {
    store: (a) => {
      const t = performance.now();
      return real.store(a).finally(() => waits.push(performance.now() - t));
    },
  };
  const waitMs = async (): Promise<number> => {
    const front = await serve(config, logger, policy, { ...services, store: timed });
    await load(front.port, 'in-process', MESSAGES / 2);
    await front.close();
    return median(waits);
  };
  const wait = await waitMs();
  const kept: MessageStore = { store: () => Promise.resolve(['kept']) };
  const late: MessageStore = { store: () => new Promise((r) => setTimeout(() => r(['kept']), wait)) };
  console.log(' where the in-process gap goes: the same rounds with stores that keep nothing');
  for (const [label, store] of [['answered at once', kept], [`answered after ${wait.toFixed(1)} ms (the spool's median wait)`, late]] as const) {
    const front = await serve(config, logger, policy, { ...services, store });
    await load(front.port, 'in-process', MESSAGES / 4); // warm up
    const { bare: b, ours: o, ratios } = await rounds((n) => load(barePort, 'in-process', n), (n) => load(front.port, 'in-process', n));
    console.log(`  ${label.padEnd(52)} ratio ${(perSecond(o) / perSecond(b)).toFixed(2)}  (median of rounds ${median(ratios).toFixed(2)}; main-thread CPU per message, bare / smtp-cbv: ${(b.mainMs / b.messages / (o.mainMs / o.messages)).toFixed(2)})`);
    await front.close();
  }
}

/** smtp-cbv served as main() serves it, with `services`. */
async function serve(config: Config, logger: Logger, policy: Policy, services: SessionServices): Promise<{ port: number; close: () => Promise<void> }> {
  const s = config.server;
  const front = new SmtpFront(
    { listeners: [{ host: '127.0.0.1', port: 0 }], hostname: 'bench.test', maxMessageSize: s.maxMessageSize, maxConnectionsPerIp: 10_000, socketTimeoutMs: s.socketTimeoutMs, logger },
    { policy: () => policy, services },
  );
  const [at] = await front.start();
  return { port: at!.port, close: () => front.close(0) };
}

/**
 * Main-thread CPU time per message (ms) of `messages` sessions driven
 * straight through the session machine, 20 at once, each one message as
 * the load client sends it (EHLO, MAIL FROM, RCPT TO, DATA): the session's
 * own work, without sockets, smtp-server or the adapter.
 */
async function sessionsAlone(policy: Policy, services: SessionServices, messages: number): Promise<number> {
  const message = Buffer.from(`From: alice@sender.test\r\nTo: bob@here.test\r\nDate: ${new Date().toUTCString()}\r\nSubject: bench\r\n\r\n${'x'.repeat(1000)}\r\n`);
  let next = 0;
  const one = async (n: number) => {
    const session = new Session({ id: `alone${n}`, remoteAddress: '127.0.0.1', remotePort: 1024 + (n % 60_000), localAddress: '127.0.0.1', localPort: 25, tls: false, hostname: 'bench.test', banner: 'bench' }, { policy: () => policy, services });
    await session.connect();
    await session.hello('EHLO', 'client.test');
    await session.mailFrom('alice@sender.test');
    await session.rcptTo('bob@here.test');
    const d = await session.data(message);
    session.close();
    if (!d.accepted) throw new Error(`the session alone was answered ${d.reply.code}`);
  };
  const before = mainThreadCpuMs();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < messages) await one(next++);
  }));
  return (mainThreadCpuMs() - before) / messages;
}

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);

/**
 * The server's resident memory once started and past its first session
 * (`start`), holding IDLE idle connections (`idle`), and holding IDLE more
 * (`more`). What the first IDLE add includes what a server sets up once
 * under its first load (code compiled on first use, the heap grown to its
 * working size); what the next IDLE add is closer to what a connection costs.
 */
async function idleRss(args: string[], port: number): Promise<{ start: number; idle: number; more: number }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  for (let i = 0; i < 200 && !out.includes('"event":"listening"'); i++) await new Promise((r) => setTimeout(r, 25));
  const rss = async () => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024;
  // One session first, so that what loads on first use (re2js, the connect
  // phase's scripts) counts as start-up, not as the cost of the connections.
  await new Promise<void>((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.on('error', () => resolve());
    s.once('data', () => {
      s.end('QUIT\r\n');
      s.on('close', () => resolve());
    });
  });
  await new Promise((r) => setTimeout(r, 200));
  const start = await rss();
  const sockets: Socket[] = [];
  const open = async () => {
    for (let i = 0; i < IDLE; i++) {
      const s = connect({ port, host: '127.0.0.1' });
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      sockets.push(s);
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1500)); // greetings sent, sessions settled
    return rss();
  };
  const idle = await open();
  const more = await open();
  for (const s of sockets) s.destroy();
  child.kill('SIGKILL');
  return { start, idle, more };
}

await main();
