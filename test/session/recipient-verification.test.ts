/**
 * Recipient call-ahead at SMTP time, the whole server from a configuration
 * file: the answer to RCPT TO follows the next hop's, scripts read the
 * verdict but cannot write it, their own refusal wins, the transaction's
 * log line carries the verdicts, a reload keeps the cache, and the Sieve++
 * function asks the same next hop.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningServer, startFromConfig } from '../../src/server/run.js';
import { freePort } from '../helpers/free-port.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';
import { startSmtpRemote, type SmtpRemote } from '../helpers/smtp-remote.js';

let remote: SmtpRemote;
let downPort: number;
beforeAll(async () => {
  remote = await startSmtpRemote({ rcpt: (a) => (a.startsWith('nobody') ? { code: 550, message: '5.1.1 User unknown in local recipient table' } : undefined) });
  downPort = await freePort();
});
afterAll(() => remote.close());

let dir: string;
let running: RunningServer | undefined;
let logged: Array<Record<string, unknown>>;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-rcpt-verify-'));
  logged = [];
});
afterEach(async () => {
  await running?.stop(0);
  running = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Starts the server with the routes below, `extra` options and a rcptto script; collects its log lines. */
async function serve(extra: string, rcptScript?: string, listenerContext = '', downOptions = ''): Promise<RunningServer> {
  const port = await freePort();
  if (rcptScript !== undefined) await writeFile(join(dir, 'rcpt.siv'), rcptScript);
  await writeFile(
    join(dir, 'test.conf'),
    [
      'spool_dir = "spool"',
      'queue_dir = "queue"',
      `Gateway = "127.0.0.1:${remote.port}"`,
      'TLS = no',
      `Domain "down.test" { Gateway = "127.0.0.1:${downPort}" ${downOptions} }`,
      extra,
      `ESMTP_Listener { Listen "127.0.0.1:${port}" { ${listenerContext} } }`,
      rcptScript !== undefined ? 'sieve { script "rcptto_phase1" { source = "rcpt.siv" } }' : '',
      '',
    ].join('\n'),
  );
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logged.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const { running: r, diagnostics } = await startFromConfig(join(dir, 'test.conf'), { logger: pino({ level: 'info' }, sink) });
  if (!r) throw new Error(diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`).join('\n'));
  running = r;
  return r;
}

/** The `transaction` log lines once there are `n` of them (a session logs its line as it closes). */
async function transactions(n: number): Promise<Array<Record<string, unknown>>> {
  for (;;) {
    const found = logged.filter((l) => l.event === 'transaction');
    if (found.length >= n) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** EHLO, MAIL FROM, one RCPT TO per recipient, QUIT; the RCPT replies. */
async function rcpts(r: RunningServer, to: string[]): Promise<string[]> {
  const c = await RawSmtpClient.open(r.addresses[0]!.port);
  await c.reply();
  await c.command('EHLO client.test');
  expect((await c.command('MAIL FROM:<carol@sender.test>')).code).toBe(250);
  const out: string[] = [];
  for (const t of to) out.push((await c.command(`RCPT TO:<${t}>`)).text);
  await c.command('QUIT');
  c.close();
  return out;
}

describe('Recipient_Verify at RCPT TO', () => {
  it('accepts what the next hop accepts, refuses what it refuses, defers when it is down; other domains are not asked', async () => {
    const r = await serve('Domain "dest.test" { Recipient_Verify = true }', undefined, '', 'Recipient_Verify = true');
    remote.log.length = 0;
    const replies = await rcpts(r, ['alice@dest.test', 'nobody@dest.test', 'bob@down.test', 'nobody@free.test']);
    expect(replies[0]).toMatch(/^250 /);
    expect(replies[1]).toBe('550 5.1.1 <nobody@dest.test>: Recipient address rejected by the next hop (User unknown in local recipient table)');
    expect(replies[2]).toMatch(/^451 4\.4\.1 <bob@down\.test>: Recipient verification failed: the next hop is not reachable/);
    expect(replies[3]).toMatch(/^250 /);
    expect(remote.log.filter((l) => l.startsWith('RCPT'))).toEqual(['RCPT <alice@dest.test>', 'RCPT <nobody@dest.test>']);
    const metrics = await r.metrics.registry.metrics();
    expect(metrics).toContain('smtpcbv_recipient_verify_verdicts_total{status="fail",reason="rejected",cached="false"} 1');
    const [tx] = await transactions(1);
    expect(tx?.recipientVerify).toEqual([
      { recipient: 'alice@dest.test', result: 'pass', reason: 'accepted', cached: false },
      { recipient: 'nobody@dest.test', result: 'fail', reason: 'rejected', cached: false },
      { recipient: 'bob@down.test', result: 'transient', reason: 'connect-refused', cached: false },
    ]);
  });

  it('scripts read the verdict; their own refusal wins; a reload keeps the cache', async () => {
    const script = [
      'require ["environment", "variables"];',
      'if environment :matches "vnd.smtp-cbv.recipient_verify_result" "*" { set "r" "${1}"; }',
      'if environment :is "vnd.smtp-cbv.rcptto_localpart" "policy" { ec_action 550 "5.7.1 policy refuses (verify ${r})"; }',
      '',
    ].join('\n');
    const r = await serve('Recipient_Verify = true', script);
    const first = await rcpts(r, ['policy@dest.test', 'nobody@dest.test']);
    expect(first[0]).toBe('550 5.7.1 policy refuses (verify pass)');
    expect(first[1]).toMatch(/^550 5\.1\.1 /);
    expect(await r.reload()).toEqual([]);
    const before = remote.connections;
    expect(await rcpts(r, ['policy@dest.test'])).toEqual(['550 5.7.1 policy refuses (verify pass)']);
    expect(remote.connections).toBe(before);
    const last = (await transactions(2))[1];
    expect(last?.recipientVerify).toEqual([{ recipient: 'policy@dest.test', result: 'pass', reason: 'accepted', cached: true }]);
  });

  it('scripts that do not read the verdict decide first: a recipient they refuse costs the next hop nothing', async () => {
    const r = await serve('Recipient_Verify = true', 'if envelope :localpart :is "to" "nobody2" { ec_action 550 "5.7.1 not here"; }\n');
    remote.log.length = 0;
    const replies = await rcpts(r, ['nobody2@dest.test', 'nobody@dest.test']);
    expect(replies[0]).toBe('550 5.7.1 not here');
    expect(replies[1]).toMatch(/^550 5\.1\.1 .*User unknown/);
    expect(remote.log.filter((l) => l.startsWith('RCPT'))).toEqual(['RCPT <nobody@dest.test>']);
    expect((await transactions(1))[0]?.recipientVerify).toEqual([{ recipient: 'nobody@dest.test', result: 'fail', reason: 'rejected', cached: false }]);
  });

  it('asks the gateway the scripts chose for the recipient, not its route; scripts that read the verdict are answered by the route', async () => {
    const chosen = await startSmtpRemote({ rcpt: (a) => (a.startsWith('alice') ? { code: 550, message: '5.1.1 unknown at the chosen gateway' } : undefined) });
    try {
      const r = await serve('Recipient_Verify = true', `if envelope :localpart :is "to" "alice" { ec_set_routing_gateway "127.0.0.1:${chosen.port}"; }\n`);
      remote.log.length = 0;
      const replies = await rcpts(r, ['alice@dest.test', 'bob@dest.test']);
      expect(replies[0]).toBe('550 5.1.1 <alice@dest.test>: Recipient address rejected by the next hop (unknown at the chosen gateway)');
      expect(replies[1]).toMatch(/^250 /);
      expect(chosen.log).toEqual(['MAIL <>', 'RCPT <alice@dest.test>']);
      expect(remote.log.filter((l) => l.startsWith('RCPT'))).toEqual(['RCPT <bob@dest.test>']);
      expect((await transactions(1))[0]?.recipientVerify).toEqual([
        { recipient: 'alice@dest.test', result: 'fail', reason: 'rejected', cached: false, gateway: `127.0.0.1:${chosen.port}` },
        { recipient: 'bob@dest.test', result: 'pass', reason: 'accepted', cached: false },
      ]);
      // Read before the scripts run, the verdict cannot know the gateway they will choose: the route is asked.
      await running!.stop(0);
      const reads = [
        'require ["environment", "variables"];',
        'if environment :matches "vnd.smtp-cbv.recipient_verify_result" "*" { set "r" "${1}"; }',
        `ec_set_routing_gateway "127.0.0.1:${chosen.port}";`,
        '',
      ].join('\n');
      const again = await serve('Recipient_Verify = true', reads);
      expect(await rcpts(again, ['alice@dest.test'])).toEqual([expect.stringMatching(/^250 /)]);
      expect(chosen.log.filter((l) => l.startsWith('RCPT'))).toEqual(['RCPT <alice@dest.test>']);
    } finally {
      await chosen.close();
    }
  });

  it('a script cannot write the verdict (compile error at start)', async () => {
    await expect(serve('Recipient_Verify = true', 'vctx_mess_set "recipient_verify_result" "pass";\n')).rejects.toThrow(/recipient_verify_result/);
  });

  it('a connection whose context sets __bypass_recipient_verify is not asked', async () => {
    const r = await serve('Recipient_Verify = true', undefined, 'context = [ "__bypass_recipient_verify" = "true" ]');
    remote.log.length = 0;
    expect(await rcpts(r, ['nobody@dest.test'])).toEqual([expect.stringMatching(/^250 /)]);
    expect(remote.log).toEqual([]);
    expect((await transactions(1))[0]?.recipientVerify).toEqual([{ recipient: 'nobody@dest.test', reason: 'bypass' }]);
  });
});

describe('smtp_recipient_verify', () => {
  it('returns [status, message] from the next hop, with Recipient_Verify off', async () => {
    const script = [
      '$to = envelope "to";',
      '($s, $m) = smtp_recipient_verify "${to}";',
      'if ec_test :is "${s}" "fail" { ec_action 550 "5.1.1 function says: ${m}"; }',
      '',
    ].join('\n');
    const r = await serve('', script);
    const replies = await rcpts(r, ['alice@dest.test', 'nobody@dest.test']);
    expect(replies[0]).toMatch(/^250 /);
    expect(replies[1]).toBe('550 5.1.1 function says: 550 5.1.1 User unknown in local recipient table');
    // Recipient_Verify is off: nothing in the log line, no variables.
    expect((await transactions(1))[0]?.recipientVerify).toBeUndefined();
  });
});
