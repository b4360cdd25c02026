/**
 * `smtp-cbv serve --workers 2` as an operator runs it (a child process):
 * the primary forwards SIGHUP to every worker without dropping a session,
 * replaces a worker killed with SIGKILL while the listener keeps
 * answering, sums the workers' metrics, and drains every worker on SIGTERM
 * while /readyz says so.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliChild, startCli } from '../helpers/cli-child.js';
import { freePort } from '../helpers/free-port.js';
import { parsePrometheus, valueOf } from '../helpers/prometheus.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let dir: string;
let server: CliChild;
let child: ChildProcess;
let smtpPort: number;
let opsPort: number;

const acceptAll = 'keep;\n';
const rejectAll = 'require "reject";\nreject "closed for maintenance";\n';

const events = (name: string) => server.events(name);
const until = (what: string, cond: () => boolean | Promise<boolean>, ms?: number) => server.until(what, cond, ms);

async function get(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${opsPort}${path}`);
  return { status: res.status, body: await res.text() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-workers-'));
  smtpPort = await freePort();
  opsPort = await freePort();
  await writeFile(join(dir, 'mailfrom.siv'), acceptAll);
  await writeFile(
    join(dir, 'test.conf'),
    `spool_dir = "spool"\nworkers = 1\nESMTP_Listener { Listen "127.0.0.1:${smtpPort}" { } }\nsieve { script "mailfrom_phase1" { source = "mailfrom.siv" } }\nmetrics { listen = "127.0.0.1:${opsPort}" }\n`,
  );
  // --workers overrides the configuration's `workers = 1`.
  server = startCli(['serve', '--config', join(dir, 'test.conf'), '--workers', '2', '--drain', '5']);
  child = server.child;
  await until('the primary to announce both workers', () => events('listening').some((e) => e.role === 'primary' && e.workers === 2), 60_000);
}, 90_000);

afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('serve --workers 2', () => {
  it('serves on one listener from two worker processes, and sums their metrics', async () => {
    const pids = new Set(events('worker-listening').map((e) => e.pid));
    expect(pids.size).toBe(2);
    for (let i = 0; i < 6; i++) {
      const c = await RawSmtpClient.open(smtpPort);
      expect((await sendMail(c, 'a@ok.test', ['b@here.test'])).end?.code).toBe(250);
      await c.command('QUIT');
      await c.waitClosed();
    }
    expect(await get('/readyz')).toEqual({ status: 200, body: 'ready\n' });
    const { samples } = parsePrometheus((await get('/metrics')).body);
    expect(valueOf(samples, 'smtpcbv_connections_total')).toBe(6);
    expect(valueOf(samples, 'smtpcbv_transactions_total', { outcome: 'accepted' })).toBe(6);
    expect(valueOf(samples, 'smtpcbv_workers_listening')).toBe(2);
  }, 60_000);

  it('SIGHUP reloads every worker without dropping a session in progress', async () => {
    const c = await RawSmtpClient.open(smtpPort);
    await c.reply();
    await c.command('EHLO client.test');
    expect((await c.command('MAIL FROM:<a@ok.test>')).code).toBe(250);

    await writeFile(join(dir, 'mailfrom.siv'), rejectAll);
    const before = events('reload').length;
    child.kill('SIGHUP');
    await until('both workers to reload', () => events('reload').filter((e) => e.ok === true).length >= before + 2);

    // The session goes on: its transaction keeps what was decided.
    expect((await c.command('RCPT TO:<b@here.test>')).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(354);
    expect((await c.command('Subject: t\r\n\r\nhello\r\n.')).code).toBe(250);
    // Its next transaction, and every new connection on either worker, meets the new policy.
    expect((await c.command('MAIL FROM:<a@ok.test>')).text).toBe('550 5.7.1 closed for maintenance');
    for (let i = 0; i < 4; i++) {
      const n = await RawSmtpClient.open(smtpPort);
      expect((await sendMail(n, 'a@ok.test', ['b@here.test'])).mail.text).toBe('550 5.7.1 closed for maintenance');
      await n.command('QUIT');
    }
    await c.command('QUIT');
  }, 60_000);

  it('replaces a worker killed with SIGKILL; the listener keeps answering meanwhile', async () => {
    const victim = events('worker-listening').at(-1)!.pid as number;
    // A reader has taken every message so far: the envelope records the workers journaled are all droppable.
    for (const n of await readdir(join(dir, 'spool', 'new'))) await rm(join(dir, 'spool', 'new', n));
    // The primary hands connections to the workers in turn (round robin): the victim journaled some of them.
    expect((await readdir(join(dir, 'spool', 'envelopes'))).filter((n) => n.includes(`.P${victim}.`)).length).toBeGreaterThan(0);
    const listeningBefore = events('worker-listening').length;
    const exitsBefore = events('worker-exit').length;
    process.kill(victim, 'SIGKILL');
    // Once the primary knows (a connection handed to the worker at the very
    // moment it died is lost with it: docs/operations.md), the other worker
    // answers every connection while the replacement starts.
    await until('the primary to see the exit', () => events('worker-exit').length > exitsBefore);
    for (let i = 0; i < 4; i++) {
      const c = await RawSmtpClient.open(smtpPort);
      expect((await c.reply()).code).toBe(220);
      await c.command('QUIT');
    }
    await until('a replacement worker', () => events('worker-listening').length > listeningBefore);
    expect(events('worker-exit').map((e) => e.signal)).toContain('SIGKILL');
    const fresh = events('worker-listening').at(-1)!.pid;
    expect(fresh).not.toBe(victim);
    // The replacement compacts the envelope journals the dead worker left, without a restart of the server.
    await until('the replacement to compact the dead worker’s journals', () => events('spool-adopted').some((e) => (e.pids as number[] | undefined)?.includes(victim)));
    expect(events('spool-adopted').find((e) => (e.pids as number[] | undefined)?.includes(victim))).not.toHaveProperty('err');
    expect((await readdir(join(dir, 'spool', 'envelopes'))).filter((n) => n.includes(`.P${victim}.`))).toEqual([]);
    const c = await RawSmtpClient.open(smtpPort);
    expect((await c.reply()).code).toBe(220);
    await c.command('QUIT');
  }, 60_000);

  it('SIGTERM drains every worker: /readyz is 503 while a session finishes, then the primary exits 0', async () => {
    const c = await RawSmtpClient.open(smtpPort);
    await c.reply();
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    await until('readyz to say draining', async () => (await get('/readyz')).body === 'not ready: draining\n');
    expect((await get('/readyz')).status).toBe(503);
    expect((await c.command('EHLO client.test')).code).toBe(250);
    await c.command('QUIT');
    expect(await exited).toBe(0);
  }, 60_000);
});

describe('serve --workers 2 with a broken script', () => {
  it('fails the start naming file:line:col, instead of restarting workers for ever', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'smtp-cbv-workers-broken-'));
    try {
      await writeFile(join(broken, 'bad.siv'), 'keep\n');
      await writeFile(join(broken, 'test.conf'), `spool_dir = "spool"\nESMTP_Listener { Listen "127.0.0.1:${await freePort()}" { } }\nsieve { script "mailfrom_phase1" { source = "bad.siv" } }\n`);
      const p = startCli(['serve', '--config', join(broken, 'test.conf'), '--workers', '2']);
      const code = await new Promise<number | null>((r) => p.child.once('exit', (c) => r(c)));
      expect(code).toBe(1);
      expect(p.out()).toContain(`${join(broken, 'bad.siv')}:2:1: error:`);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  }, 60_000);
});
