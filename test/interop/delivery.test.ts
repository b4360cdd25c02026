/**
 * Delivery against real next hops (test/interop/setup.sh starts them):
 * Postfix on 127.0.0.1:2526 as the SMTP gateway (alice@vm.test exists and
 * lands in /var/mail/alice; nosuchuser@vm.test is refused at RCPT TO) and
 * Dovecot's LMTP (services/lmtp.sh) as the LMTP next hop of lmtp.test and
 * of the senders' domain, where the bounces arrive. Never run by `npm test`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/run.js';
import { parseDsn } from '../helpers/dsn-parse.js';
import { startOrThrow } from '../helpers/config-server.js';
import { freePort } from '../helpers/free-port.js';
import { fileTail } from '../helpers/file-tail.js';

const postfixPort = Number(process.env.INTEROP_PORT);
const sevenBitPort = Number(process.env.INTEROP_SEVEN_BIT_PORT);
const lmtp = process.env.INTEROP_LMTP;
const lmtpDir = process.env.INTEROP_LMTP_DIR;
if (!postfixPort || !sevenBitPort || !lmtp || !lmtpDir) throw new Error('run me through test/interop/setup.sh (INTEROP_PORT, INTEROP_SEVEN_BIT_PORT, INTEROP_LMTP, INTEROP_LMTP_DIR)');

let dir: string;
let running: RunningServer;
let port: number;

async function reachable(hostPort: string): Promise<void> {
  const [host, p] = hostPort.split(':');
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port: Number(p) }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  await reachable(lmtp);
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-interop-delivery-'));
  port = await freePort();
  await writeFile(
    join(dir, 'server.conf'),
    [
      'spool_dir = "spool"',
      'queue_dir = "queue"',
      `Gateway = "127.0.0.1:${postfixPort}"`,
      'Retry_Interval = 1',
      `Domain "lmtp.test" { Gateway = "${lmtp}" Delivery_Method = LMTP }`,
      `Domain "sender.test" { Gateway = "${lmtp}" Delivery_Method = LMTP }`,
      `Domain "seven.test" { Gateway = "127.0.0.1:${sevenBitPort}" }`,
      `ESMTP_Listener { Listen "127.0.0.1:${port}" { } hostname = "relay.test" }`,
      '',
    ].join('\n'),
  );
  running = await startOrThrow(join(dir, 'server.conf'));
});
afterAll(async () => {
  await running?.stop(0);
  await rm(dir, { recursive: true, force: true });
});

function swaks(...args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile('swaks', ['--server', `127.0.0.1:${port}`, '--helo', 'client.test', ...args], { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | null) : 0;
      resolve({ status: typeof code === 'number' ? code : null, out: stdout + stderr });
    });
  });
}

async function eventually<T>(look: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const found = await look();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Messages Dovecot delivered to `user`, as text. */
async function lmtpMailbox(user: string): Promise<string[]> {
  const d = join(lmtpDir!, 'mail', user, 'new');
  const names = await readdir(d).catch(() => [] as string[]);
  return Promise.all(names.map((n) => readFile(join(d, n), 'utf8')));
}

/** What Postfix's local agent delivers to alice from now on: the mailbox holds earlier runs' and the benchmarks' mail too. */
const mailbox = fileTail('/var/mail/alice');

describe('delivery to real next hops', () => {
  it('relays to Postfix, which delivers to /var/mail/alice', async () => {
    const token = randomBytes(8).toString('hex');
    const r = await swaks('--from', 'carol@sender.test', '--to', 'alice@vm.test', '--header', `Subject: relay ${token}`);
    expect(r.status, r.out).toBe(0);
    const mbox = await eventually(async () => mailbox.message(token));
    expect(mbox).toMatch(/by relay\.test \(smtp-cbv\)/);
  });

  it('relays an 8-bit message in 7 bits to a Postfix that does not offer 8BITMIME (RFC 6152 3)', async () => {
    const token = randomBytes(8).toString('hex');
    const data = join(dir, `eight-bit-${token}.eml`);
    await writeFile(
      data,
      Buffer.concat([
        Buffer.from(`From: carol@sender.test\r\nTo: alice@seven.test\r\nSubject: seven ${token}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`),
        Buffer.from('Gr\xfc\xdfe\r\n', 'latin1'),
      ]),
    );
    const r = await swaks('--from', 'carol@sender.test', '--to', 'alice@seven.test', '--data', data, '--protocol', 'ESMTP');
    expect(r.status, r.out).toBe(0);
    const m = await eventually(async () => mailbox.message(token));
    expect(m).toContain('Content-Transfer-Encoding: quoted-printable\n');
    expect(m).toContain('\nGr=FC=DFe\n');
  });

  it('relays to Dovecot over LMTP, one reply per recipient', async () => {
    const token = randomBytes(8).toString('hex');
    const r = await swaks('--from', 'carol@sender.test', '--to', 'ann@lmtp.test,ben@lmtp.test', '--header', `Subject: lmtp ${token}`);
    expect(r.status, r.out).toBe(0);
    for (const user of ['ann', 'ben']) {
      const m = await eventually(async () => (await lmtpMailbox(user)).find((t) => t.includes(token)));
      expect(m).toContain('Return-Path: <carol@sender.test>');
    }
  });

  it("bounces Postfix's 550 to the sender with Postfix's own text", async () => {
    const token = randomBytes(8).toString('hex');
    const r = await swaks('--from', 'dora@sender.test', '--to', 'nosuchuser@vm.test', '--header', `Subject: bounce ${token}`);
    expect(r.status, r.out).toBe(0);
    const report = await eventually(async () => (await lmtpMailbox('dora')).find((t) => t.includes(token)));
    const dsn = parseDsn(report.replace(/^Return-Path:[^\n]*\n(?:Delivered-To:[^\n]*\n)?/, ''));
    const rcpt = dsn.recipients[0]!;
    expect(report).toContain('Return-Path: <>');
    expect(rcpt.get('final-recipient')).toBe('rfc822; nosuchuser@vm.test');
    expect(rcpt.get('action')).toBe('failed');
    expect(rcpt.get('status')).toBe('5.1.1');
    expect(rcpt.get('remote-mta')).toBe('dns; 127.0.0.1');
    expect(rcpt.get('diagnostic-code')).toMatch(/^smtp; 550 5\.1\.1 <nosuchuser@vm\.test>: Recipient address rejected/);
  });
});
