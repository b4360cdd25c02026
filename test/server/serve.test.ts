/**
 * `smtp-cbv serve` as an operator runs it: from a configuration file, as a
 * child process, with SIGHUP reloads and a SIGTERM stop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFromConfig } from '../../src/server/run.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-serve-'));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await rm(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function writeConfig(port: number, mailfromScript: string) {
  await writeFile(join(dir, 'mailfrom.siv'), mailfromScript);
  await writeFile(
    join(dir, 'test.conf'),
    `spool_dir = "spool"\nlogging { level = info }\nESMTP_Listener { Listen "127.0.0.1:${port}" { } }\nsieve "s" {\n  script "mailfrom_phase1" { source = "mailfrom.siv" }\n}\n`,
  );
  return join(dir, 'test.conf');
}

const rejectSpam = 'require ["envelope", "reject"];\nif envelope :domain :is "from" "spam.test" { reject "no spam"; }\n';
const rejectAll = 'require "reject";\nreject "closed for maintenance";\n';

describe('startFromConfig', () => {
  it('serves a configuration, reloads it, and keeps the old one when the reload fails', async () => {
    const conf = await writeConfig(await freePort(), rejectSpam);
    const { running, diagnostics } = await startFromConfig(conf, { logger: pino({ level: 'silent' }) });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    cleanups.push(() => running!.stop(0));
    const port = running!.addresses[0]!.port;
    expect((await sendMail(await RawSmtpClient.open(port), 'a@spam.test', ['b@here.test'])).mail.text).toBe('550 5.7.1 no spam');
    expect((await sendMail(await RawSmtpClient.open(port), 'a@ok.test', ['b@here.test'])).end?.code).toBe(250);
    expect(await readdir(join(dir, 'spool', 'new'))).toHaveLength(1);

    await writeFile(join(dir, 'mailfrom.siv'), rejectAll);
    expect((await running!.reload()).filter((d) => d.severity === 'error')).toEqual([]);
    expect((await sendMail(await RawSmtpClient.open(port), 'a@ok.test', ['b@here.test'])).mail.text).toBe('550 5.7.1 closed for maintenance');

    await writeFile(join(dir, 'mailfrom.siv'), 'this is not sieve');
    const problems = await running!.reload();
    expect(problems.some((d) => d.severity === 'error' && d.file === join(dir, 'mailfrom.siv'))).toBe(true);
    expect((await sendMail(await RawSmtpClient.open(port), 'a@ok.test', ['b@here.test'])).mail.text).toBe('550 5.7.1 closed for maintenance');
  });

  it('refuses to start with a broken script, naming file:line:col', async () => {
    const conf = await writeConfig(await freePort(), 'keep\n');
    const { running, diagnostics } = await startFromConfig(conf, { logger: pino({ level: 'silent' }) });
    expect(running).toBeNull();
    expect(diagnostics[0]).toMatchObject({ file: join(dir, 'mailfrom.siv'), line: 2, column: 1, severity: 'error' });
  });
});

describe('smtp-cbv serve (child process)', () => {
  async function start(conf: string): Promise<{ child: ChildProcess; output: () => string }> {
    const bin = join(import.meta.dirname, '../../bin/smtp-cbv.js');
    const child = spawn(process.execPath, [bin, 'serve', '--config', conf, '--drain', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    cleanups.push(async () => child.exitCode === null && child.kill('SIGKILL'));
    for (let i = 0; i < 100 && !out.includes('"event":"listening"'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('"event":"listening"');
    return { child, output: () => out };
  }

  it('reloads on SIGHUP without dropping a session, and stops on SIGTERM with exit 0', async () => {
    const port = await freePort();
    const conf = await writeConfig(port, rejectSpam);
    const { child, output } = await start(conf);
    const session = await RawSmtpClient.open(port);
    expect((await session.reply()).code).toBe(220);
    expect((await session.command('EHLO c.test')).code).toBe(250);

    await writeFile(join(dir, 'mailfrom.siv'), rejectAll);
    child.kill('SIGHUP');
    for (let i = 0; i < 100 && !output().includes('"event":"reload"'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(output()).toContain('"ok":true');
    // The session opened before the reload is still there, and now meets the new policy.
    expect((await session.command('MAIL FROM:<a@ok.test>')).text).toBe('550 5.7.1 closed for maintenance');
    await session.command('QUIT');

    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output()).toContain('"signal":"SIGTERM"');
  });

  it('exits 1 and prints the problem for a broken configuration', async () => {
    await writeFile(join(dir, 'bad.conf'), 'smtp_cbv "x" { phase = "sometimes" }\n');
    const bin = join(import.meta.dirname, '../../bin/smtp-cbv.js');
    const child = spawn(process.execPath, [bin, 'serve', '--config', join(dir, 'bad.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(err).toMatch(new RegExp(`${join(dir, 'bad.conf')}:1:\\d+: error: .*mailfrom`));
  });
});
