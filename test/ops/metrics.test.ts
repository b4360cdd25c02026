/**
 * /metrics, /healthz and /readyz of a server started from a configuration:
 * the counters match a known mix of sessions, the text parses as
 * Prometheus exposition format, and readiness flips while draining.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFromConfig, type RunningServer } from '../../src/server/run.js';
import { freePort } from '../helpers/free-port.js';
import { parsePrometheus, valueOf } from '../helpers/prometheus.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let dir: string;
let running: RunningServer | null = null;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-ops-'));
});
afterEach(async () => {
  await running?.stop(0);
  running = null;
  await chmod(join(dir, 'spool', 'tmp'), 0o755).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const MAILFROM = `require ["envelope", "reject"];
if envelope :domain :is "from" "spam.test" { ec_inc_counter "spam"; reject "no spam"; }
# Five redirects exceed the limit of four: a runtime error (RFC 5228 2.10.6).
if envelope :domain :is "from" "broken.test" { redirect "a@x.test"; redirect "b@x.test"; redirect "c@x.test"; redirect "d@x.test"; redirect "e@x.test"; }
`;

async function start(extra = ''): Promise<{ smtp: number; ops: number }> {
  await writeFile(join(dir, 'mailfrom.siv'), MAILFROM);
  const opsPort = await freePort();
  await writeFile(
    join(dir, 'test.conf'),
    `spool_dir = "spool"\nESMTP_Listener { Listen "127.0.0.1:${await freePort()}" { } }\nsieve { script "mailfrom_phase1" { source = "mailfrom.siv" } }\nmetrics { listen = "127.0.0.1:${opsPort}" }\n${extra}`,
  );
  const r = await startFromConfig(join(dir, 'test.conf'), { logger: pino({ level: 'silent' }) });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  running = r.running;
  return { smtp: running!.addresses[0]!.port, ops: running!.ops!.port };
}

async function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

describe('metrics and health listener', () => {
  it('counts a known session mix', async () => {
    const { smtp, ops } = await start();
    const sessions = [
      ['a@ok.test', ['x@here.test', 'y@here.test']],
      ['b@ok.test', ['x@here.test']],
      ['s@spam.test', ['x@here.test']],
      ['t@spam.test', ['x@here.test']],
      ['e@broken.test', ['x@here.test']],
    ] as const;
    for (const [from, to] of sessions) {
      const c = await RawSmtpClient.open(smtp);
      await sendMail(c, from, [...to]);
      await c.command('QUIT');
      await c.waitClosed();
    }
    // The client's socket closes before the server has handled its end of it: scrape until
    // the server has (connections_open drops to 0), then every series is final.
    let m = await get(ops, '/metrics');
    while (m.status === 200 && valueOf(parsePrometheus(m.body).samples, 'smtpcbv_connections_open') !== 0) {
      await new Promise((r) => setTimeout(r, 20));
      m = await get(ops, '/metrics');
    }
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const { samples, types } = parsePrometheus(m.body);
    expect(types.get('smtpcbv_smtp_replies_total')).toBe('counter');
    expect(valueOf(samples, 'smtpcbv_connections_total')).toBe(5);
    expect(valueOf(samples, 'smtpcbv_smtp_replies_total', { phase: 'connect', code: '220' })).toBe(5);
    expect(valueOf(samples, 'smtpcbv_smtp_replies_total', { phase: 'mailfrom', code: '250' })).toBe(2);
    expect(valueOf(samples, 'smtpcbv_smtp_replies_total', { phase: 'mailfrom', code: '550' })).toBe(2);
    expect(valueOf(samples, 'smtpcbv_smtp_replies_total', { phase: 'mailfrom', code: '451' })).toBe(1);
    expect(valueOf(samples, 'smtpcbv_smtp_replies_total', { phase: 'rcptto', code: '250' })).toBe(3);
    expect(valueOf(samples, 'smtpcbv_smtp_replies_total', { phase: 'data', code: '250' })).toBe(2);
    expect(valueOf(samples, 'smtpcbv_transactions_total', { outcome: 'accepted' })).toBe(2);
    expect(valueOf(samples, 'smtpcbv_transactions_total', { outcome: 'refused' })).toBe(3);
    expect(valueOf(samples, 'smtpcbv_sieve_actions_total', { phase: 'mailfrom', action: 'reject' })).toBe(2);
    expect(valueOf(samples, 'smtpcbv_sieve_actions_total', { phase: 'mailfrom', action: 'implicit-keep' })).toBe(2);
    expect(valueOf(samples, 'smtpcbv_sieve_runtime_errors_total', { phase: 'mailfrom' })).toBe(1);
    expect(valueOf(samples, 'smtpcbv_sieve_counter', { name: 'spam' })).toBe(2);
    expect(valueOf(samples, 'smtpcbv_connections_open')).toBe(0);
    expect(samples.some((s) => s.name === 'smtpcbv_redis_up')).toBe(false);
  });

  it('counts the duplicate list: what scripts asked, what transactions recorded', async () => {
    await writeFile(join(dir, 'data.siv'), 'require "duplicate";\nif duplicate { discard; }\n');
    const opsPort = await freePort();
    await writeFile(
      join(dir, 'test.conf'),
      `spool_dir = "spool"\nESMTP_Listener { Listen "127.0.0.1:${await freePort()}" { } }\nsieve { script "data_phase1" { source = "data.siv" } }\nmetrics { listen = "127.0.0.1:${opsPort}" }\n`,
    );
    running = (await startFromConfig(join(dir, 'test.conf'), { logger: pino({ level: 'silent' }) })).running;
    for (let i = 0; i < 3; i++) {
      const c = await RawSmtpClient.open(running!.addresses[0]!.port);
      expect((await sendMail(c, 'a@ok.test', ['x@here.test'], 'Message-ID: <twice@ok.test>\r\nSubject: t\r\n\r\nhi\r\n')).end?.code).toBe(250);
      c.close();
    }
    const { samples } = parsePrometheus((await get(opsPort, '/metrics')).body);
    expect(valueOf(samples, 'smtpcbv_duplicate_tests_total', { result: 'new' })).toBe(1);
    expect(valueOf(samples, 'smtpcbv_duplicate_tests_total', { result: 'duplicate' })).toBe(2);
    expect(valueOf(samples, 'smtpcbv_duplicate_ids_recorded_total')).toBe(1);
  });

  it('answers /healthz, and /readyz until the drain starts', async () => {
    const { smtp, ops } = await start();
    expect(await get(ops, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await get(ops, '/readyz')).toMatchObject({ status: 200, body: 'ready\n' });
    expect((await get(ops, '/nothing')).status).toBe(404);

    const c = await RawSmtpClient.open(smtp);
    await c.reply();
    const stopping = running!.stop(5000);
    // The session in progress keeps going while the server says it is not ready.
    expect(await get(ops, '/readyz')).toMatchObject({ status: 503, body: 'not ready: draining\n' });
    expect((await c.command('EHLO client.test')).code).toBe(250);
    await c.command('QUIT');
    await stopping;
    running = null;
  });

  it('is not ready while a required Redis is unreachable, and answers sessions all the same', async () => {
    // Port 1 on loopback: nothing listens there.
    const { smtp, ops } = await start('redis { url = "redis://127.0.0.1:1" required = true }\n');
    expect(await get(ops, '/readyz')).toMatchObject({ status: 503, body: 'not ready: required redis unreachable\n' });
    const c = await RawSmtpClient.open(smtp);
    expect((await sendMail(c, 'a@ok.test', ['x@here.test'])).end?.code).toBe(250);
    await c.command('QUIT');
    const { samples } = parsePrometheus((await get(ops, '/metrics')).body);
    expect(valueOf(samples, 'smtpcbv_redis_up')).toBe(0);
  });

  it('is not ready while the spool cannot be written', async () => {
    if (process.getuid?.() === 0) {
      // root writes through permission bits: take the directory away instead.
      const { ops } = await start();
      await rm(join(dir, 'spool', 'tmp'), { recursive: true });
      expect(await get(ops, '/readyz')).toMatchObject({ status: 503, body: 'not ready: spool not writable\n' });
      return;
    }
    const { ops } = await start();
    await chmod(join(dir, 'spool', 'tmp'), 0o500);
    expect(await get(ops, '/readyz')).toMatchObject({ status: 503, body: 'not ready: spool not writable\n' });
  });
});
