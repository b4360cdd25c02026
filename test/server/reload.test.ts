/**
 * A reload (what SIGHUP does) in the middle of a transaction: the session
 * keeps every choice it made, and the long-lived services (the CBV engine,
 * its cache and its rate limits) carry on. Real server from a configuration
 * file, real sockets, a scripted MX found through a DNS server on loopback.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/run.js';
import { oneMx } from '../helpers/cbv-fixture.js';
import { startConfig, writeConfig } from '../helpers/config-server.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';
import { startSmtpRemote } from '../helpers/smtp-remote.js';

let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-reload-'));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await rm(dir, { recursive: true, force: true });
});

async function serve(scripts: Record<string, string>, cbvBlock = ''): Promise<RunningServer> {
  return startConfig(await writeConfig(dir, scripts, cbvBlock), cleanups);
}

async function reloadWith(running: RunningServer, slot: string, text: string) {
  await writeFile(join(dir, `${slot}.siv`), text);
  expect((await running.reload()).filter((d) => d.severity === 'error')).toEqual([]);
}

async function envelopes(folder = ''): Promise<Array<{ recipients: string[]; verdicts: Record<string, string> }>> {
  const names = await readdir(join(dir, 'spool', folder, 'new')).catch(() => [] as string[]);
  const all = await new MaildirSpool(join(dir, 'spool')).envelopes();
  return names.map((n) => all.get(n) as { recipients: string[]; verdicts: Record<string, string> });
}

describe('a reload in the middle of a transaction', () => {
  it('keeps a discard made at RCPT TO: the discarded recipient gets nothing', async () => {
    const running = await serve({ rcptto_phase1: 'require "envelope";\nif envelope :localpart :is "to" "blackhole" { discard; }\n' });
    const c = await RawSmtpClient.open(running.addresses[0]!.port);
    await c.reply();
    await c.command('EHLO client.test');
    await c.command('MAIL FROM:<a@sender.test>');
    expect((await c.command('RCPT TO:<blackhole@here.test>')).code).toBe(250);
    expect((await c.command('RCPT TO:<bob@here.test>')).code).toBe(250);
    // The new policy would discard nothing; the transaction keeps what the old one decided.
    await reloadWith(running, 'rcptto_phase1', 'keep;\n');
    expect((await c.command('DATA')).code).toBe(354);
    expect((await c.command('Subject: s\r\n\r\nbody\r\n.')).code).toBe(250);
    expect((await envelopes()).map((e) => e.recipients)).toEqual([['bob@here.test']]);
    c.close();
  });

  it('keeps a fileinto made at MAIL FROM', async () => {
    const running = await serve({ mailfrom_phase1: 'require "fileinto";\nfileinto "Held";\n' });
    const c = await RawSmtpClient.open(running.addresses[0]!.port);
    await c.reply();
    await c.command('EHLO client.test');
    expect((await c.command('MAIL FROM:<a@sender.test>')).code).toBe(250);
    await reloadWith(running, 'mailfrom_phase1', 'keep;\n');
    await c.command('RCPT TO:<bob@here.test>');
    await c.command('DATA');
    expect((await c.command('Subject: s\r\n\r\nbody\r\n.')).code).toBe(250);
    expect(await envelopes()).toEqual([]);
    expect((await envelopes('.Held')).map((e) => e.recipients)).toEqual([['bob@here.test']]);
    c.close();
  });

  it('keeps the CBV cache and the per-domain rate limit across the reload', async () => {
    const remote = await startSmtpRemote({});
    const dns = await startDnsServer(oneMx('sender.test'));
    cleanups.push(() => remote.close(), () => dns.close());
    const cbv = `smtp_cbv "c" {\n  dns_servers = ( "${dns.address}" )\n  port = ${remote.port}\n  allow_targets = ( "127.0.0.0/8" )\n  helo = "probe.test"\n  domain_rate_limit = 1\n  domain_rate_interval = 3600\n}\n`;
    // Reads the verdict, so DATA waits for it and the spool envelope holds it.
    const data = 'require "environment";\nif environment :is "vnd.smtp-cbv.smtp_cbv_result" "nothing" { keep; }\n';
    const running = await serve({ data_phase1: data }, cbv);
    const port = running.addresses[0]!.port;
    expect((await sendMail(await RawSmtpClient.open(port), 'alice@sender.test', ['bob@here.test'])).end?.code).toBe(250);
    expect(remote.connections).toBe(1);

    await reloadWith(running, 'data_phase1', `${data}# reloaded\n`);
    // Cached: no second probe for alice.
    expect((await sendMail(await RawSmtpClient.open(port), 'alice@sender.test', ['bob@here.test'])).end?.code).toBe(250);
    // The domain's one probe an hour is spent: carol is not probed, her verdict is rate-limited.
    expect((await sendMail(await RawSmtpClient.open(port), 'carol@sender.test', ['bob@here.test'])).end?.code).toBe(250);
    expect(remote.connections).toBe(1);
    const verdicts = (await envelopes()).map((e) => e.verdicts.smtp_cbv_reason).sort();
    expect(verdicts).toEqual(['accepted', 'accepted', 'rate-limited']);
  });
});
