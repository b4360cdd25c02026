/**
 * Sieve++ ec_set_routing_gateway end to end (docs/delivery.md, "Routing"):
 * the whole server from a configuration file, a client on loopback, the
 * delivery queue, and real SMTP next hops on 127.0.0.1. The configured
 * Gateway is one sink; the scripts send some recipients to another, at
 * RCPT TO (that recipient) or at DATA (every recipient of the message), and
 * the choice is in the queue entry, so a restart keeps it. Without routing
 * the function has no effect: the message is spooled as any other.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/run.js';
import { startOrThrow, writeConfig } from '../helpers/config-server.js';
import { type MailSink, startMailSink } from '../helpers/mail-sink.js';
import { receivedBy } from '../helpers/relay-server.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let dir: string;
let conf: string;
let running: RunningServer;
/** The configured Gateway: every recipient no script routed. */
let configured: MailSink;
/** The gateway the scripts name. */
let scripted: MailSink;
/** Another gateway the scripts name, down until the restart test brings it up. */
let late: MailSink;

const rcptScript = (scriptedPort: number, latePort: number) => `require ["envelope", "variables"];
if envelope :domain :is "to" "scripted.test" {
  ec_set_routing_gateway "127.0.0.1:${scriptedPort}";
}
if envelope :domain :is "to" "late.test" {
  ec_set_routing_gateway "127.0.0.1:${latePort}";
}
if envelope :localpart :is "to" "computed" {
  set "where" "not a gateway";
  ec_set_routing_gateway "\${where}";
}
`;
const dataScript = (scriptedPort: number) => `if header :is "X-Route" "all" {
  ec_set_routing_gateway "127.0.0.1:${scriptedPort}";
}
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-routing-gateway-'));
  configured = await startMailSink();
  scripted = await startMailSink();
  late = await startMailSink();
  // Its port is kept; nothing listens there until the restart test starts it again.
  await late.stop();
  const extra = [
    'queue_dir = "queue"',
    `Gateway = "127.0.0.1:${configured.port}"`,
    'TLS = no',
    'Retry_Interval = 0.2',
    'Max_Retry_Interval = 0.4',
    'retry_jitter = 0',
    'Connect_Timeout = 2',
  ].join('\n');
  conf = await writeConfig(dir, { rcptto_phase1: rcptScript(scripted.port, late.port), data_phase1: dataScript(scripted.port) }, extra);
  running = await startOrThrow(conf);
});
afterAll(async () => {
  await running?.stop(10_000);
  await Promise.all([configured?.stop(), scripted?.stop(), late?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

async function send(to: string[], headers: string[] = []) {
  const c = await RawSmtpClient.open(running.addresses[0]!.port);
  try {
    return await sendMail(c, 'alice@sender.test', to, [...headers, 'From: alice@sender.test', `Subject: to ${to.join(' ')}`, '', 'hello', ''].join('\r\n'));
  } finally {
    c.close();
  }
}

async function arrived(sink: MailSink, rcpt: string) {
  while (!receivedBy(sink, rcpt).length) await new Promise((r) => setTimeout(r, 20));
  return receivedBy(sink, rcpt);
}

/** Every recipient the queue holds is final: whatever was going to be sent has been. */
async function settled(): Promise<void> {
  while (Object.keys(running.queue!.depth()).length) await new Promise((r) => setTimeout(r, 20));
}

describe('ec_set_routing_gateway', () => {
  it('at RCPT TO sends that recipient to the gateway it names, and the other recipient by the configured route', async () => {
    const r = await send(['bob@scripted.test', 'carol@dest.test']);
    expect(r.end?.code).toBe(250);
    expect((await arrived(scripted, 'bob@scripted.test'))[0]!.to).toEqual(['bob@scripted.test']);
    expect((await arrived(configured, 'carol@dest.test'))[0]!.to).toEqual(['carol@dest.test']);
    await settled();
    expect(receivedBy(configured, 'bob@scripted.test')).toEqual([]);
    expect(receivedBy(scripted, 'carol@dest.test')).toEqual([]);
  });

  it('at DATA sends every recipient of the message there, over what RCPT TO chose', async () => {
    const r = await send(['dan@dest.test', 'erin@late.test'], ['X-Route: all']);
    expect(r.end?.code).toBe(250);
    expect(await arrived(scripted, 'dan@dest.test')).toHaveLength(1);
    expect(await arrived(scripted, 'erin@late.test')).toHaveLength(1);
    await settled();
    expect(receivedBy(configured, 'dan@dest.test')).toEqual([]);
  });

  it('refuses the recipient with 451 when the computed gateway is not one (a runtime error, runtime_error = fail)', async () => {
    const r = await send(['computed@dest.test', 'frank@dest.test']);
    expect(r.rcpts.map((x) => x.code)).toEqual([451, 250]);
    expect(await arrived(configured, 'frank@dest.test')).toHaveLength(1);
  });

  it('keeps the choice in the queue entry: after a restart the deferred recipient still goes to its gateway', async () => {
    expect((await send(['gina@late.test'])).end?.code).toBe(250);
    // The gateway is down: the first attempt defers.
    const deferred = async () => (await running.queue!.snapshot()).some((e) => e.recipients.some((r) => r.address === 'gina@late.test' && r.attempts > 0));
    while (!(await deferred())) await new Promise((r) => setTimeout(r, 20));
    await running.stop(10_000);
    running = await startOrThrow(conf);
    await late.start();
    // Settled first: a recipient sent by the configured route instead would settle too, and fail below rather than time out.
    await settled();
    expect(receivedBy(late, 'gina@late.test').map((m) => m.to)).toEqual([['gina@late.test']]);
    expect(receivedBy(configured, 'gina@late.test')).toEqual([]);
  });
});

describe('ec_set_routing_gateway without routing', () => {
  it('has no effect: the message is accepted and spooled as any other (no queue runs)', async () => {
    const own = await mkdtemp(join(tmpdir(), 'smtp-cbv-routing-gateway-off-'));
    const server = await startOrThrow(await writeConfig(own, { rcptto_phase1: 'ec_set_routing_gateway "127.0.0.1:9";', data_phase1: 'ec_set_routing_gateway "relay.test";' }));
    try {
      expect(server.queue).toBeUndefined();
      const c = await RawSmtpClient.open(server.addresses[0]!.port);
      const r = await sendMail(c, 'alice@sender.test', ['bob@dest.test'], 'From: alice@sender.test\r\nSubject: kept\r\n\r\nhello\r\n').finally(() => c.close());
      expect([r.rcpts.map((x) => x.code), r.end?.code]).toEqual([[250], 250]);
      const files = await readdir(join(own, 'spool', 'new'));
      expect(files).toHaveLength(1);
      expect(await readFile(join(own, 'spool', 'new', files[0]!), 'utf8')).toContain('Subject: kept');
    } finally {
      await server.stop(0);
      await rm(own, { recursive: true, force: true });
    }
  });
});
