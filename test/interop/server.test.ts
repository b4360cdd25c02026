/**
 * The smtp-cbv server against real clients (swaks, Postfix's smtp-source),
 * verifying senders by callback against the real Postfix and dnsmasq that
 * test/interop/setup.sh starts. Never run by `npm test`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/run.js';
import { startOrThrow } from '../helpers/config-server.js';
import { freePort } from '../helpers/free-port.js';

const dnsServer = process.env.INTEROP_DNS;
const mxPort = Number(process.env.INTEROP_PORT);
if (!dnsServer || !mxPort) throw new Error('run me through test/interop/setup.sh (INTEROP_DNS, INTEROP_PORT)');

let dir: string;
let running: RunningServer;
let port: number;


beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-interop-'));
  port = await freePort();
  await writeFile(
    join(dir, 'rcptto.siv'),
    'require ["environment", "reject"];\nif environment :is "vnd.smtp-cbv.smtp_cbv_result" "error" {\n  reject "sender verification failed";\n}\n',
  );
  await writeFile(
    join(dir, 'server.conf'),
    [
      'spool_dir = "spool"',
      `ESMTP_Listener { Listen "127.0.0.1:${port}" { } }`,
      `smtp_cbv "cbv" { phase = "mailfrom" dns_servers = ( "${dnsServer}" ) port = ${mxPort} allow_targets = ( 127.0.0.0/8 ) helo = "probe.test" timeout = 20 }`,
      'sieve "s" { script "rcptto_phase1" { source = "rcptto.siv" } }',
      '',
    ].join('\n'),
  );
  running = await startOrThrow(join(dir, 'server.conf'));
});
afterAll(async () => {
  await running?.stop(0);
  await rm(dir, { recursive: true, force: true });
});

/** Runs a client without blocking the event loop: the server under test lives in this process. */
function run(cmd: string, args: string[], timeout = 30_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | null) : 0;
      resolve({ status: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

const swaks = (...args: string[]) => run('swaks', ['--server', `127.0.0.1:${port}`, '--helo', 'client.test', '--to', 'bob@here.test', ...args]);
const spooled = async () => (await readdir(join(dir, 'spool', 'new'))).length;

describe('swaks and smtp-source against smtp-cbv', () => {
  it('accepts and spools mail from a sender Postfix knows (CBV pass)', async () => {
    const before = await spooled();
    const r = await swaks('--from', 'alice@vm.test');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(await spooled()).toBe(before + 1);
  });

  it('refuses a sender Postfix does not know, at RCPT TO (swaks exit 24)', async () => {
    const r = await swaks('--from', 'nosuchuser@vm.test');
    expect(r.status).toBe(24);
    expect(r.stdout).toMatch(/<\*\* 550 5\.7\.1 sender verification failed/);
  });

  it('accepts the null sender without a probe', async () => {
    const r = await swaks('--from', '<>');
    expect(r.status, r.stdout).toBe(0);
  });

  it('takes a burst from smtp-source: 5 sessions, 40 messages, all spooled', async () => {
    const before = await spooled();
    const r = await run('smtp-source', ['-s', '5', '-m', '40', '-f', 'alice@vm.test', '-t', 'bob@here.test', `127.0.0.1:${port}`], 60_000);
    expect(r.status, r.stderr).toBe(0);
    expect(await spooled()).toBe(before + 40);
  });
});
