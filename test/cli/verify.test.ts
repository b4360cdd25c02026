/**
 * `smtp-cbv verify` in-process against a real remote and DNS server on
 * loopback: output forms and exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { bufferIO, EXIT } from '../../src/cli/io.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { oneMx } from '../helpers/cbv-fixture.js';
import { startSmtpRemote, type SmtpRemote } from '../helpers/smtp-remote.js';

let dns: TestDnsServer;
let remote: SmtpRemote;

beforeAll(async () => {
  dns = await startDnsServer({ ...oneMx('example.test'), 'null.test': { MX: [{ preference: 0, exchange: '.' }] } });
  remote = await startSmtpRemote({
    rcpt: (a) => (a.startsWith('nobody') ? { code: 550, message: '5.1.1 No such user' } : a.startsWith('grey') ? { code: 450, message: '4.2.0 Greylisted' } : undefined),
  });
});
afterAll(async () => {
  await dns.close();
  await remote.close();
});

async function run(...args: string[]) {
  const io = bufferIO();
  const code = await main(['verify', ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

function target() {
  return ['--dns-server', dns.address, '--port', String(remote.port), '--allow-target', '127.0.0.0/8', '--helo', 'cli.test', '--timeout', '5'];
}

describe('smtp-cbv verify', () => {
  it('prints one JSON object and exits 0 on pass', async () => {
    const r = await run('alice@example.test', ...target(), '--json');
    expect(r.code).toBe(EXIT.ok);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ status: 'pass', result: 'pass', stage: 'rcpt', host: 'mx.example.test', cached: false });
    expect(j.reply).toMatch(/^250 /);
    expect(typeof j.durationMs).toBe('number');
    expect(r.out.trim().split('\n')).toHaveLength(1);
  });

  it('exits 1 on fail, with result error', async () => {
    const r = await run('nobody@example.test', ...target(), '--json');
    expect(r.code).toBe(EXIT.failure);
    expect(JSON.parse(r.out)).toMatchObject({ status: 'fail', result: 'error', stage: 'rcpt', reply: '550 5.1.1 No such user' });
  });

  it('exits 1 on error (null MX), having contacted nothing', async () => {
    const before = remote.connections;
    const r = await run('alice@null.test', ...target(), '--json');
    expect(r.code).toBe(EXIT.failure);
    expect(JSON.parse(r.out)).toMatchObject({ status: 'error', result: 'error', stage: 'dns', host: null });
    expect(remote.connections).toBe(before);
  });

  it('exits 75 on transient', async () => {
    const r = await run('grey@example.test', ...target(), '--json');
    expect(r.code).toBe(EXIT.tempfail);
    expect(JSON.parse(r.out)).toMatchObject({ status: 'transient', result: 'transient' });
  });

  it('prints a short human-readable line without --json, and the dialogue with --transcript', async () => {
    const r = await run('alice@example.test', ...target(), '--transcript', '--sender', 'probe@cli.test');
    expect(r.code).toBe(EXIT.ok);
    const [first, ...rest] = r.out.trim().split('\n');
    expect(first).toMatch(/^pass alice@example\.test \(accepted at rcpt mx\.example\.test \[127\.0\.0\.1\], \d+ ms\): 250 /);
    const dialogue = rest.join('\n');
    expect(dialogue).toContain('C EHLO cli.test');
    expect(dialogue).toContain('C MAIL FROM:<probe@cli.test>');
    expect(dialogue).toMatch(/S 250/);
  });

  it('refuses a loopback target unless --allow-target names it', async () => {
    const r = await run('alice@example.test', '--dns-server', dns.address, '--port', String(remote.port), '--json');
    expect(r.code).toBe(EXIT.failure);
    expect(JSON.parse(r.out)).toMatchObject({ status: 'error', stage: 'policy', reason: 'no-allowed-target' });
  });

  it.each([
    [['not-an-address']],
    [['alice@example.test', '--port', 'x']],
    [['alice@example.test', '--port', '70000']],
    [['alice@example.test', '--timeout', '0']],
    [['alice@example.test', '--allow-target', '127.0.0.0/99']],
    [['alice@example.test', '--dns-server', 'dns.example:53']],
    [['alice@example.test', '--sender', 'bad sender']],
    [['alice@example.test', '--bogus']],
    [[]],
  ])('exits 64 on a usage error: %j', async (args) => {
    const r = await run(...args);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).not.toBe('');
  });
});
