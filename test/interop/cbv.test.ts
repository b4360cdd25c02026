/**
 * The CBV engine against real MTAs and a real resolver, started by
 * test/interop/setup.sh: Postfix (alice@vm.test exists), smtp-sink answering
 * 450 at RCPT, and dnsmasq serving the MX records, including a null MX.
 * Run with `npm run test:interop` (root, Debian 12), never by `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createCbvEngine } from '../../src/cbv/index.js';

const dnsServer = process.env.INTEROP_DNS;
const port = Number(process.env.INTEROP_PORT);
if (!dnsServer || !port) throw new Error('run me through test/interop/setup.sh (INTEROP_DNS, INTEROP_PORT)');

const engine = () =>
  createCbvEngine({
    dnsServers: [dnsServer],
    port,
    allowTargets: ['127.0.0.0/8'],
    helo: 'probe.test',
    timeout: 20,
    logger: pino({ level: 'silent' }),
  });

// The null-MX domain's A record points at 127.0.0.3: listen there and count.
let trap: Server;
let trapped = 0;
beforeAll(async () => {
  trap = createServer((s) => {
    trapped++;
    s.destroy();
  });
  await new Promise<void>((resolve) => trap.listen(port, '127.0.0.3', () => resolve()));
});
afterAll(() => new Promise<void>((resolve) => trap.close(() => resolve())));

describe('against Postfix, smtp-sink and dnsmasq', () => {
  it('passes a known user at Postfix', async () => {
    const v = await engine().verify('alice@vm.test');
    expect(v).toMatchObject({ status: 'pass', result: 'pass', stage: 'rcpt', host: 'mx.vm.test', ip: '127.0.0.1' });
    expect(v.reply).toMatch(/^250 2\.1\.5/);
  });

  it('fails an unknown user at Postfix with its 550 5.1.1', async () => {
    const v = await engine().verify('nosuchuser@vm.test');
    expect(v).toMatchObject({ status: 'fail', result: 'error', stage: 'rcpt', reason: 'rejected' });
    expect(v.reply).toMatch(/^550 5\.1\.1 .*nosuchuser@vm\.test/);
  });

  it('is transient when smtp-sink answers 450 at RCPT', async () => {
    const v = await engine().verify('anyone@sink.test');
    expect(v).toMatchObject({ status: 'transient', result: 'transient', stage: 'rcpt', reason: 'tempfail', host: 'mx.sink.test' });
    expect(v.reply).toMatch(/^450 /);
  });

  it('is an error for a null-MX domain, without any connection', async () => {
    const v = await engine().verify('alice@nullmx.test');
    expect(v).toMatchObject({ status: 'error', result: 'error', stage: 'dns', reason: 'null-mx' });
    expect(v.transcript.some((l) => l.text.startsWith('connect '))).toBe(false);
    expect(trapped).toBe(0);
  });

  it('is an error for a domain dnsmasq says does not exist', async () => {
    const v = await engine().verify('alice@nowhere.test');
    expect(v).toMatchObject({ status: 'error', stage: 'dns', reason: 'nxdomain' });
  });

  it('works from the built CLI binary, with the documented exit codes', () => {
    const cli = (addr: string) =>
      spawnSync(process.execPath, ['bin/smtp-cbv.js', 'verify', addr, '--dns-server', dnsServer, '--port', String(port), '--allow-target', '127.0.0.0/8', '--json'], {
        encoding: 'utf8',
      });
    const ok = cli('alice@vm.test');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'pass', result: 'pass', stage: 'rcpt' });
    expect(cli('nosuchuser@vm.test').status).toBe(1);
    expect(cli('anyone@sink.test').status).toBe(75);
  });
});
