/**
 * Relay throughput, against a baseline from the same run: 1 KB messages
 * from 20 parallel clients (a new connection each),
 *   - baseline: the client straight to a next-hop sink (bare smtp-server);
 *   - relay: the same client to smtp-cbv, which queues each message
 *     durably and relays it to the same sink (Gateway, 20 outbound
 *     connections at most, kept open between messages).
 * Reported: messages/s accepted, messages/s end to end (until the sink has
 * them all), queue entries written per second, and fsyncs per message; and
 * for context, the same client to smtp-cbv without routing (the local
 * Maildir spool).
 * Everything runs in this process on 127.0.0.1.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { controlGreeting } from '../src/frontdoors/smtp/smtp-server-adapter.js';
import { startFromConfig } from '../src/server/run.js';
import { freePort } from '../test/helpers/free-port.js';
import { sendMany } from './one-message.js';
import { spreadTempDir } from './spread-dir.js';

const MESSAGES = 1000;
const CLIENTS = 20;
/** Sends MESSAGES; resolves when they are accepted, with the time it took and when the sink had them all. */
async function load(port: number, sink: { received: number }): Promise<{ acceptedPerSecond: number; endToEndPerSecond: number; failed: number }> {
  const target = sink.received + MESSAGES;
  const started = performance.now();
  const failed = await sendMany(port, 'bob@dest.test', MESSAGES, CLIENTS);
  const accepted = performance.now();
  while (sink.received < target - failed) await new Promise((r) => setTimeout(r, 5));
  const done = performance.now();
  return { acceptedPerSecond: MESSAGES / ((accepted - started) / 1000), endToEndPerSecond: MESSAGES / ((done - started) / 1000), failed };
}

async function main() {
  // The spools where ext4 places them afresh, not where other work just deleted files (bench/spread-dir.ts).
  const spread = await spreadTempDir('smtp-cbv-bench-delivery-');
  const dir = spread.dir;
  const counter = { received: 0 };
  const sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH'],
    hideSTARTTLS: true,
    disableReverseLookup: true,
    logger: false,
    onData: (s, _session, cb) => {
      s.on('data', () => undefined);
      s.on('end', () => {
        counter.received++;
        cb();
      });
    },
  });
  // Greeted as smtp-cbv greets (greet_pause = 0): without smtp-server's fixed 100 ms early-talker wait.
  controlGreeting(sink, { greetPauseMs: 0, maxConnections: 1_000_000 });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const sinkPort = (sink.server.address() as { port: number }).port;

  const port = await freePort();
  await writeFile(
    join(dir, 'relay.conf'),
    [
      'spool_dir = "spool"',
      'queue_dir = "queue"',
      `Gateway = "127.0.0.1:${sinkPort}"`,
      'TLS = no',
      `Max_Outbound_Connections = ${CLIENTS}`,
      `ESMTP_Listener { Listen "127.0.0.1:${port}" { } hostname = "bench.test" max_connections_per_ip = 10000 }`,
      '',
    ].join('\n'),
  );
  const { running, diagnostics } = await startFromConfig(join(dir, 'relay.conf'), { logger: pino({ level: 'silent' }) });
  if (!running?.queue) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  const localPort = await freePort();
  await writeFile(join(dir, 'local.conf'), `spool_dir = "local-spool"\nESMTP_Listener { Listen "127.0.0.1:${localPort}" { } hostname = "bench.test" max_connections_per_ip = 10000 }\n`);
  const local = (await startFromConfig(join(dir, 'local.conf'), { logger: pino({ level: 'silent' }) })).running!;
  const stats = running.queue.stats;

  await load(sinkPort, counter); // warm up both paths
  await load(port, counter);
  const base = await load(sinkPort, counter);
  const before = { fsyncs: stats.fsyncs, entries: stats.entriesWritten };
  const relayStart = performance.now();
  const relay = await load(port, counter);
  const relaySeconds = (performance.now() - relayStart) / 1000;
  // The last results are recorded just after the sink's 250.
  while ((await running.queue.snapshot()).length) await new Promise((r) => setTimeout(r, 5));
  const entries = stats.entriesWritten - before.entries;
  // No next hop to wait for: the spool is the end.
  const spool = await load(localPort, { received: Number.POSITIVE_INFINITY });
  const fsyncs = stats.fsyncs - before.fsyncs;

  console.log(`relay throughput, 1 KB, ${CLIENTS} clients, new connection each (${MESSAGES} messages)`);
  console.log('  (no greeting wait on either hop; smtp-cbv keeps its outbound connections open)');
  console.log(`  baseline: client -> sink                       ${base.endToEndPerSecond.toFixed(0).padStart(6)}/s  (failed ${base.failed})`);
  console.log(`  relay: client -> smtp-cbv, accepted            ${relay.acceptedPerSecond.toFixed(0).padStart(6)}/s  (failed ${relay.failed})`);
  console.log(`  relay: client -> smtp-cbv -> sink, end to end  ${relay.endToEndPerSecond.toFixed(0).padStart(6)}/s`);
  console.log(`  ratio relay end to end / baseline:             ${(relay.endToEndPerSecond / base.endToEndPerSecond).toFixed(2)}`);
  console.log(`  ratio relay accepted / baseline:               ${(relay.acceptedPerSecond / base.endToEndPerSecond).toFixed(2)}`);
  console.log(`  for context: client -> smtp-cbv, local spool   ${spool.acceptedPerSecond.toFixed(0).padStart(6)}/s  (no routing: 3 fsyncs per message, 2 of them shared)`);
  console.log(`  queue entries written per second:              ${(entries / relaySeconds).toFixed(0).padStart(6)}/s`);
  console.log(`  fsyncs per message (accept + deliver):         ${(fsyncs / MESSAGES).toFixed(2)}`);

  await running.stop(0);
  await local.stop(0);
  await new Promise<void>((r) => sink.close(() => r()));
  await spread.remove();
}

await main();
