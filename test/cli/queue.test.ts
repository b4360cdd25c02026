/**
 * `smtp-cbv queue ...` against a running queue (the one a server runs),
 * in-process through main(): what it lists and shows, and that the running
 * queue acts on flush, bounce and delete at once.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { parseDsn } from '../helpers/dsn-parse.js';
import { type MailSink, startMailSink } from '../helpers/mail-sink.js';
import { events, message, openQueue, type QueueFixture, until } from '../helpers/queue-fixture.js';

let fx: QueueFixture | undefined;
const sinks: MailSink[] = [];
afterEach(async () => {
  await fx?.close();
  fx = undefined;
  for (const s of sinks.splice(0)) await s.stop();
});

async function cli(...argv: string[]) {
  const io = bufferIO();
  const code = await main(argv, io);
  return { code, out: io.stdout, err: io.stderr };
}

/** A queue whose gateway is down (retries a minute apart), and the config file the CLI reads. */
async function setup() {
  const next = await startMailSink();
  const senderMx = await startMailSink();
  sinks.push(next, senderMx);
  await next.stop();
  const text = `Retry_Interval = 60\nretry_jitter = 0\nConnect_Timeout = 2\nTLS = no\nGateway = "127.0.0.1:${next.port}"\nDomain "sender.test" { Gateway = "127.0.0.1:${senderMx.port}" }`;
  fx = await openQueue(text);
  const conf = join(fx.dir, 'test.conf');
  await writeFile(conf, `queue_dir = "${fx.dir}/queue"\nspool_dir = "${fx.dir}/spool"\n${text}\n`);
  // c@dest.test goes to the gateway a script chose for it (ec_set_routing_gateway), down as well.
  const second = message('alice@sender.test', ['b@dest.test', 'c@dest.test']);
  second.recipients[1]!.gateway = { host: '127.0.0.1', port: next.port };
  const ids = await fx.queue.add([message('alice@sender.test', ['a@dest.test']), second]);
  await until(() => events(fx!.logs, 'delivery.attempt').length === 3);
  return { next, senderMx, conf, ids };
}

describe('smtp-cbv queue', () => {
  it('lists and shows entries, as text and JSON', async () => {
    const { conf, ids, next } = await setup();
    const list = await cli('queue', 'list', '--config', conf, '--json');
    expect(list.code).toBe(0);
    const entries = JSON.parse(list.out) as Array<{ id: string; recipients: Array<{ address: string; gateway?: string; state: string; attempts: number; reply: string }> }>;
    expect(entries.map((e) => e.id)).toEqual(ids);
    expect(entries[1]!.recipients.map((r) => [r.address, r.gateway, r.state, r.attempts])).toEqual([['b@dest.test', undefined, 'deferred', 1], ['c@dest.test', `127.0.0.1:${next.port}`, 'deferred', 1]]);
    expect(entries[0]!.recipients[0]!.reply).toMatch(/^451 4\.4\.1 ESOCKET: connect ECONNREFUSED/);
    const text = await cli('queue', 'list', '--config', conf);
    expect(text.out).toContain(`${ids[0]}  message`);
    expect(text.out).toContain('2 entries');
    const show = await cli('queue', 'show', ids[0]!, '--config', conf);
    expect(show.code).toBe(0);
    expect(show.out).toContain('to: <a@dest.test> deferred, 1 attempt(s)');
    expect(show.out).toContain('Message-ID: <m1@sender.test>');
    const routed = await cli('queue', 'show', ids[1]!, '--config', conf);
    expect(routed.out).toContain(`to: <c@dest.test> (gateway 127.0.0.1:${next.port}) deferred, 1 attempt(s)`);
    expect(routed.out).toContain('to: <b@dest.test> deferred, 1 attempt(s)');
  });

  it('answers an unknown id with EX_NOINPUT and a bad configuration with EX_CONFIG', async () => {
    const { conf } = await setup();
    expect((await cli('queue', 'show', 'NOSUCHID', '--config', conf)).code).toBe(66);
    expect((await cli('queue', 'bounce', '0000000000000000000000', '--config', conf)).code).toBe(66);
    const bad = join(fx!.dir, 'bad.conf');
    await writeFile(bad, 'Gateway = "not a host"\n');
    const r = await cli('queue', 'list', '--config', bad);
    expect(r.code).toBe(78);
    expect(r.err).toMatch(/bad\.conf:1:\d+: error: .*Gateway/);
    expect((await cli('queue', 'list')).code).toBe(64);
  });

  it('flush makes a deferred entry due now in the running queue', async () => {
    const { next, conf, ids } = await setup();
    await next.start();
    const r = await cli('queue', 'flush', ids[1]!, '--config', conf, '--json');
    expect(JSON.parse(r.out)).toEqual({ flushed: [ids[1]] });
    // c's scripted gateway is the same host, but a destination of its own: one message each.
    await next.waitFor(2);
    expect(next.messages.map((m) => m.to).sort()).toEqual([['b@dest.test'], ['c@dest.test']]);
    // The other entry keeps its schedule.
    await until(async () => (await fx!.queue.snapshot()).length === 1);
    expect((await fx!.queue.snapshot()).map((s) => s.header.id)).toEqual([ids[0]]);
  });

  it('bounce returns the entry to its sender now; delete removes one without a bounce', async () => {
    const { senderMx, conf, ids } = await setup();
    expect((await cli('queue', 'bounce', ids[0]!, '--config', conf)).out).toBe(`bounced ${ids[0]}\n`);
    const [report] = await senderMx.waitFor(1);
    const r = parseDsn(report!.data).recipients[0]!;
    expect(r.get('final-recipient')).toBe('rfc822; a@dest.test');
    expect(r.get('status')).toBe('5.0.0');
    expect((await cli('queue', 'delete', ids[1]!, '--config', conf)).code).toBe(0);
    await until(async () => (await readdir(join(fx!.dir, 'queue', 'entries'))).length === 0);
    expect(senderMx.messages).toHaveLength(1);
    expect(JSON.parse((await cli('queue', 'list', '--config', conf, '--json')).out)).toEqual([]);
  });

  it('a command given while no server runs takes effect at the next start', async () => {
    const { next, conf, ids } = await setup();
    await fx!.queue.stop();
    await next.start();
    expect((await cli('queue', 'flush', '--config', conf)).out).toBe('flushed 2 entries\n');
    await fx!.reopen();
    await next.waitFor(2);
    expect(ids).toHaveLength(2);
  });
});
