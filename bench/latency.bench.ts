/**
 * Isolation: the latency of a normal SMTP session (connect, EHLO, MAIL,
 * RCPT, a 1 KB DATA, QUIT) while another session's data-phase script does
 * CPU-bound work on a large message, against the same sessions with no
 * heavy session beside them (the baseline, measured in the same run).
 * Target: p99 <= 100 ms (docs/sieve-interpreter.md, "CPU budget and time
 * slices").
 *
 * The server is the in-process SmtpFront over a SievePolicy with one data
 * script per case; the normal sessions are timed from this thread, one
 * after the other. The heavy client runs in a worker thread, so that
 * writing its 10 MB message costs this thread nothing: whatever delays a
 * normal session here is the server's doing.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { startTestServer } from '../test/helpers/server-fixture.js';
import { SievePolicy } from '../src/session/policy.js';
import { policyCompileOptions } from '../src/policy/compile-options.js';
import { compileSieve } from '../src/sievepp/compile.js';
import { oneMessage } from './one-message.js';

const SESSIONS = Number(process.env.LATENCY_SESSIONS ?? 300);
const HEAVY_BYTES = 10 << 20;
/** The heavy run's CPU budget: long enough that every case does its work, short enough that the loop repeats. */
const BUDGET_MS = 3000;

const line = 'a banana and a papaya are a snack, said Anna at the data bazaar\r\n';
const plain = () => `From: heavy@sender.test\r\nSubject: big\r\n\r\n${line.repeat(Math.ceil(HEAVY_BYTES / line.length))}`;
const part = '--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n';
const multipart = () => `From: heavy@sender.test\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${part.repeat(Math.ceil(HEAVY_BYTES / part.length))}--b--\r\n`;
const keys = (n: number, f: (i: number) => string) => `[${Array.from({ length: n }, (_, i) => `"${f(i)}"`).join(', ')}]`;

interface Case {
  name: string;
  script: string;
  message?: () => string;
}

const cases: Case[] = [
  { name: 'baseline: no heavy session', script: 'require "body"; if body :raw :contains "zzz" { discard; }' },
  { name: '10 MB messages, header test only (transport)', script: 'if header :contains "subject" "zzz" { discard; }', message: plain },
  { name: 'body :raw :regex "(.*a){20}x", 10 MB', script: 'require ["body", "regex"]; if body :raw :regex "(.*a){20}x" { discard; }', message: plain },
  { name: 'body :raw :regex, 20 keys, 10 MB', script: `require ["body", "regex"]; if body :raw :regex ${keys(20, (i) => `b[an]+a ${i}x`)} { discard; }`, message: plain },
  { name: 'body :raw :contains, 5,000 keys, 10 MB', script: `require "body"; if body :raw :contains ${keys(5000, (i) => `no such key ${i}`)} { discard; }`, message: plain },
  { name: 'body :raw :matches, 50 keys, 10 MB', script: `require "body"; if body :raw :matches ${keys(50, (i) => `*banana*x${i}*`)} { discard; }`, message: plain },
  { name: 'body :text :contains, 10 MB', script: 'require "body"; if body :text :contains "zzz" { discard; }', message: plain },
  {
    name: 'foreverypart building variables, 10 MB of parts',
    script: 'require ["foreverypart", "variables"]; foreverypart { set "x" "${x}${x}${x}${x}abc"; set "y" "${x}${y}"; }',
    message: multipart,
  },
];

function policy(script: string): SievePolicy {
  const file = 'data.siv';
  const r = compileSieve(script, { file, ...policyCompileOptions(file, { phase: 'data' }) });
  if (!r.script) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`).join('\n'));
  return new SievePolicy({ scripts: { data: { phase1: r.script } }, runtimeError: 'fail', limits: { maxCpuMs: BUDGET_MS, maxSteps: 1e9 } });
}

/**
 * The heavy client: sends the message over and over on new connections
 * until told to stop, and reports each DATA reply. Plain JavaScript run
 * from a string: a benchmark helper, not product code.
 */
const HEAVY_CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const body = Buffer.from(workerData.message.replace(/^\\./gm, '..') + '.\\r\\n', 'latin1');
let stop = false;
parentPort.on('message', () => (stop = true));
function session() {
  return new Promise((resolve) => {
    const s = net.connect({ port: workerData.port, host: '127.0.0.1' });
    const script = ['EHLO heavy.test', 'MAIL FROM:<heavy@sender.test>', 'RCPT TO:<bob@here.test>', 'DATA', null, 'QUIT'];
    let buf = '', step = -1, last = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const m = /^(\\d{3}) .*\\r\\n/m.exec(buf);
        if (!m) return;
        buf = buf.slice(m.index + m[0].length);
        if (step === 4) last = m[0].trim();
        step++;
        if (step >= script.length) { s.end(); return; }
        if (script[step] === null) s.write(body); else s.write(script[step] + '\\r\\n');
      }
    });
    s.on('close', () => resolve(last));
    s.on('error', () => resolve('error'));
  });
}
(async () => {
  while (!stop) parentPort.postMessage(await session());
  parentPort.postMessage('done');
})();
`;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function main() {
  const server = await startTestServer(policy(cases[0]!.script), { maxMessageSize: 2 * HEAVY_BYTES, maxConnectionsPerIp: 1000, socketTimeoutMs: 60_000 });
  const port = server.port;
  for (let i = 0; i < 50; i++) await oneMessage(port, 'bob@here.test'); // warm up
  console.log(`latency of a normal session (1 KB message, new connection) while one other session runs a CPU-bound data script; ${SESSIONS} sessions each; heavy budget ${BUDGET_MS} ms`);
  let base: number[] | undefined;
  // LATENCY_CASES=contains,regex: only the baseline and the cases whose names contain one of those.
  const only = process.env.LATENCY_CASES?.split(',');
  for (const c of cases.filter((c, i) => i === 0 || !only || only.some((o) => c.name.includes(o)))) {
    server.setPolicy(policy(c.script));
    let worker: Worker | undefined;
    const replies = new Map<string, number>();
    let finished: Promise<void> = Promise.resolve();
    if (c.message) {
      worker = new Worker(HEAVY_CLIENT, { eval: true, workerData: { port, message: c.message() } });
      let started!: () => void;
      const first = new Promise<void>((r) => (started = r));
      finished = new Promise<void>((resolve) => {
        worker!.on('message', (m: string) => {
          if (m === 'done') return resolve();
          const code = m.slice(0, 3);
          replies.set(code, (replies.get(code) ?? 0) + 1);
        });
      });
      // Let the heavy session get going before the first normal one.
      setTimeout(started, 500);
      await first;
    }
    const times: number[] = [];
    const stalls = monitorEventLoopDelay({ resolution: 5 });
    stalls.enable();
    for (let i = 0; i < SESSIONS; i++) {
      const t0 = performance.now();
      if (!(await oneMessage(port, 'bob@here.test'))) throw new Error(`${c.name}: a normal session was not accepted`);
      times.push(performance.now() - t0);
    }
    stalls.disable();
    if (worker) {
      worker.postMessage('stop');
      await finished;
      await worker.terminate();
    }
    times.sort((a, b) => a - b);
    base ??= times;
    const p50 = quantile(times, 0.5);
    const p99 = quantile(times, 0.99);
    const heavy = worker ? `; heavy sessions: ${[...replies].map(([code, n]) => `${n}x ${code}`).join(', ') || 'none finished'}` : '';
    console.log(
      `  ${c.name}\n    p50 ${p50.toFixed(1)} ms (${(p50 / quantile(base, 0.5)).toFixed(2)}x baseline), p99 ${p99.toFixed(1)} ms (${(p99 / quantile(base, 0.99)).toFixed(2)}x baseline), ` +
        `max ${times.at(-1)!.toFixed(1)} ms; p99 target <= 100 ms: ${p99 <= 100 ? 'met' : 'NOT met'}${heavy}; ` +
        `longest event-loop stall ${(stalls.max / 1e6).toFixed(0)} ms`,
    );
  }
  await server.close();
}

await main();
