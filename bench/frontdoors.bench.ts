/**
 * The front doors beside an MTA (docs/postfix.md), each against a baseline
 * measured in the same run:
 *   - policy requests per second (8 connections, as 8 smtpd processes would
 *     hold, each asking RCPT questions for 2-recipient transactions) through
 *     the example policy with CBV verdicts from a stub, against a policy
 *     server that parses the same requests and answers DUNNO without a
 *     session;
 *   - messages per second through a real Postfix with our milter (its
 *     127.0.0.1:2533 listener) against the same Postfix with a bare milter
 *     on the same port (our codec, the same negotiation, the same header
 *     added, no session), and for context the same Postfix without a
 *     milter (127.0.0.1:2526); smtp-source with 10 sessions. Needs root
 *     and the postfix package (test/interop/setup.sh installs it);
 *     otherwise this part says why it is skipped.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../src/config/index.js';
import { keptByMta } from '../src/frontdoors/beside-mta.js';
import { startBeside } from '../src/frontdoors/run-beside.js';
import { formatAction, PolicyRequestReader } from '../src/frontdoors/policy/policy-codec.js';
import { createPolicyFront } from '../src/frontdoors/policy/policy-front.js';
import { FrameDecoder } from '../src/frontdoors/milter/frames.js';
import { Action, decodeCommand, encodeResponse, MILTER_VERSION, type MilterResponse } from '../src/frontdoors/milter/messages.js';
import { WANTED_PROTOCOL } from '../src/frontdoors/milter/milter-session.js';
import { serveInOrder, TcpFront } from '../src/frontdoors/tcp-front.js';
import { functionServices } from '../src/policy/functions.js';
import { partsFromConfig } from '../src/runner/session.js';
import { StubVerifier } from '../src/runner/stubs.js';
import { SievePolicy } from '../src/session/policy.js';
import { SenderVerification } from '../src/session/sender-verification.js';
import { PolicyClient, rcptRequests } from '../test/helpers/policy-client.js';
import { benchTempDir } from './temp-dirs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const logger = pino({ level: 'silent' });
const CONNECTIONS = 8;
const REQUESTS = 8000;
const MESSAGES = 400;
const PATH = `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}`;

async function policyLoad(port: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, conn) => {
      const c = await PolicyClient.open(port);
      while (next < REQUESTS) {
        const n = (next += 2);
        // A new SMTP client every 10 transactions, as Postfix's smtpd processes serve one client after another.
        for (const r of rcptRequests({ port: 30000 + conn * 1000 + Math.floor(n / 20), from: 'alice@sender.test', to: ['a@here.test', 'b@here.test'], instance: `${conn}.${n}` })) await c.ask(r);
      }
      c.close();
    }),
  );
  return REQUESTS / ((performance.now() - started) / 1000);
}

async function policyBench(): Promise<void> {
  const { config } = await loadConfig(join(root, 'examples', 'smtp-cbv.conf'));
  const parts = await partsFromConfig(config!);
  const policy = new SievePolicy({ scripts: parts.scripts, runtimeError: parts.runtimeError });
  const verifier = new StubVerifier({ default: { status: 'pass' } });
  const services = { logger, counters: new Map(), store: keptByMta, maxTarpitMs: 0, functionServices: functionServices(verifier), cbv: new SenderVerification(verifier, { ...parts.module, deadlineMs: 30_000 }, logger) };
  const common = { host: '127.0.0.1', port: 0, idleTimeoutMs: 60_000, maxConnections: 100, logger };
  const { front: ours } = createPolicyFront({ ...common, hostname: 'bench.test', context: parts.contextFor('127.0.0.1'), deadlineMs: 30_000, maxSessions: 10_000, sessionIdleMs: 600_000 }, { policy: () => policy, services });
  const bare = new TcpFront({ ...common, name: 'bare' }, (socket, id) => {
    const reader = new PolicyRequestReader();
    serveInOrder(socket, { id, logger, name: 'bare', decode: (c) => reader.push(c), malformed: () => true, handle: async () => ({ reply: Buffer.from(formatAction('DUNNO')) }), maxQueued: 16, closed: () => undefined });
  });
  const o = (await ours.start()).port;
  const b = (await bare.start()).port;
  await policyLoad(b);
  await policyLoad(o);
  const bareRate = await policyLoad(b);
  const oursRate = await policyLoad(o);
  console.log(`policy requests/s, ${CONNECTIONS} connections, RCPT requests of 2-recipient transactions (${REQUESTS} requests)`);
  console.log(`  baseline: same protocol, DUNNO without a session   ${bareRate.toFixed(0).padStart(7)}/s`);
  console.log(`  smtp-cbv policy, example policy, CBV stubbed        ${oursRate.toFixed(0).padStart(7)}/s`);
  console.log(`  ratio smtp-cbv / bare:                              ${(oursRate / bareRate).toFixed(2)}`);
  await ours.close(0);
  await bare.close(0);
}

const tcpOpen = (port: number) => spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0;

/** The message sizes the milter is measured with: a short message, and one past message_spool_threshold (128 KiB), which the milter keeps in a file. */
const SIZES = [
  { octets: 1024, messages: MESSAGES, label: '1 KB' },
  { octets: 300_000, messages: 150, label: '300 KB, kept in a file' },
];

/** smtp-source's run time for `messages` messages of `octets` to smtp-cbv-bench@vm.test (an alias of /dev/null, postfix-frontdoors.sh), in messages per second. */
function smtpSource(port: number, { octets, messages }: { octets: number; messages: number } = SIZES[0]!): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('smtp-source', ['-s', '10', '-m', String(messages), '-l', String(octets), '-f', 'bench@vm.test', '-t', 'smtp-cbv-bench@vm.test', `127.0.0.1:${port}`], { env: { ...process.env, PATH }, stdio: 'ignore' });
    child.on('close', (code) => (code === 0 ? resolve(messages / ((performance.now() - started) / 1000)) : reject(new Error(`smtp-source exited ${code}`))));
  });
}

/**
 * The milter protocol without a session: what Postfix's milter round trips
 * cost by themselves. It negotiates as ours does, answers every event ours
 * answers, and adds the same header at the end of the message.
 */
function bareMilter(): TcpFront {
  return new TcpFront({ host: '127.0.0.1', port: 2531, idleTimeoutMs: 60_000, maxConnections: 1000, logger, name: 'bare-milter' }, (socket, id) => {
    const decoder = new FrameDecoder(256 * 1024);
    let protocol = 0;
    const answer = (responses: MilterResponse[]) => ({ reply: Buffer.concat(responses.map(encodeResponse)) });
    serveInOrder(socket, {
      id,
      logger,
      name: 'bare-milter',
      decode: (c) => decoder.push(c),
      malformed: () => true,
      handle: async (frame) => {
        const cmd = decodeCommand(frame);
        switch (cmd.kind) {
          case 'optneg':
            protocol = WANTED_PROTOCOL & cmd.protocol;
            return answer([{ kind: 'optneg', version: Math.min(MILTER_VERSION, cmd.version), actions: Action.ADDHDRS & cmd.actions, protocol }]);
          case 'connect':
          case 'helo':
          case 'mail':
          case 'rcpt':
          case 'data':
            return answer([{ kind: 'continue' }]);
          case 'eob':
            return answer([{ kind: 'addheader', name: 'X-Smtp-Cbv', value: 'checked' }, { kind: 'continue' }]);
          case 'quit':
            return { end: true };
          default:
            return {};
        }
      },
      maxQueued: 64,
      closed: () => undefined,
    });
  });
}

async function postfixBench(): Promise<void> {
  const which = spawnSync('bash', ['-c', 'command -v postfix'], { env: { ...process.env, PATH } });
  if (process.getuid?.() !== 0 || which.status !== 0) {
    console.log('milter through Postfix: skipped (needs root and the postfix package; test/interop/setup.sh installs it)');
    return;
  }
  const pidFile = '/var/spool/postfix/pid/master.pid';
  const running = () => existsSync(pidFile) && spawnSync('kill', ['-0', readFileSync(pidFile, 'utf8').trim()]).status === 0;
  const startedHere = !running();
  if (startedHere) spawnSync('postfix', ['start'], { env: { ...process.env, PATH } });
  const listeners = spawnSync('bash', [join(root, 'test', 'interop', 'services', 'postfix-frontdoors.sh')], { env: { ...process.env, PATH }, encoding: 'utf8' });
  if (listeners.status !== 0 || !tcpOpen(2526)) {
    console.log(`milter through Postfix: skipped (the interop Postfix on 127.0.0.1:2526 is not configured: run test/interop/setup.sh once) ${listeners.stderr}`);
    return;
  }
  const { dir, remove: removeDir } = await benchTempDir('smtp-cbv-bench-milter-');
  await writeFile(join(dir, 'data.siv'), 'ec_header_add "X-Smtp-Cbv" "checked";\n');
  await writeFile(join(dir, 'c.conf'), 'sieve { script "data_phase1" { source = "data.siv" } }\nMilter_Listener { listen = "127.0.0.1:2531" }\n');
  let milter: Awaited<ReturnType<typeof startBeside>>['running'] = null;
  try {
    // The bare milter and ours take turns on the port Postfix asks; each size is sent once to warm up, then measured.
    const measure = async (port: number) => {
      const rates: number[] = [];
      for (const size of SIZES) {
        await smtpSource(port, size);
        rates.push(await smtpSource(port, size));
      }
      return rates;
    };
    const bare = bareMilter();
    await bare.start();
    const withBare = await measure(2533);
    await bare.close(0);
    milter = (await startBeside('milter', join(dir, 'c.conf'), { logger })).running;
    const withMilter = await measure(2533);
    const without = await measure(2526);
    SIZES.forEach((size, i) => {
      console.log(`messages/s through Postfix, smtp-source, 10 sessions, ${size.label} (${size.messages} messages)`);
      console.log(`  baseline: Postfix with a bare milter (codec, same header)  ${withBare[i]!.toFixed(0).padStart(6)}/s`);
      console.log(`  Postfix with smtp-cbv milter (DATA header script)          ${withMilter[i]!.toFixed(0).padStart(6)}/s`);
      console.log(`  ratio smtp-cbv / bare milter:                              ${(withMilter[i]! / withBare[i]!).toFixed(2)}`);
      console.log(`  for context: Postfix without a milter                      ${without[i]!.toFixed(0).padStart(6)}/s`);
    });
  } finally {
    await milter?.stop(0);
    if (startedHere && running()) spawnSync('kill', [readFileSync(pidFile, 'utf8').trim()]);
    await removeDir();
  }
}

async function main() {
  await policyBench();
  await postfixBench();
}

await main();
