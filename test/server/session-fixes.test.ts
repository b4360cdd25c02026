/**
 * Defects found when the server was tried as an operator would, each over
 * real sockets from a configuration file: `include` in service, verdicts
 * scripts cannot forge, `keep; discard;`, and MIME nested past the limit.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { type RunningServer, startFromConfig } from '../../src/server/run.js';
import { oneMx } from '../helpers/cbv-fixture.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { startConfig, writeConfig } from '../helpers/config-server.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';
import { startSmtpRemote } from '../helpers/smtp-remote.js';

let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-fixes-'));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await rm(dir, { recursive: true, force: true });
});

const writeConf = (scripts: Record<string, string>, extra = '') => writeConfig(dir, scripts, extra);
const serve = (conf: string) => startConfig(conf, cleanups);

async function check(conf: string) {
  const io = bufferIO();
  const code = await main(['check', '--config', conf], io);
  return { code, out: io.stdout };
}

async function spooled(folder = '') {
  const names = await readdir(join(dir, 'spool', folder, 'new')).catch(() => [] as string[]);
  const all = await new MaildirSpool(join(dir, 'spool')).envelopes();
  return names.map((n) => all.get(n) as { recipients: string[]; verdicts: Record<string, string> });
}

const send = async (r: RunningServer, from: string, to: string[], body?: string) => sendMail(await RawSmtpClient.open(r.addresses[0]!.port), from, to, body);

describe('include in service', () => {
  it('check and serve agree, and a message gets the included rule\'s reply', async () => {
    await writeFile(join(dir, 'blocklist.sieve'), 'require ["envelope", "reject"];\nif envelope :domain :is "from" "spam.test" { reject "listed sender"; }\n');
    const conf = await writeConf({ rcptto_phase1: 'require "include";\ninclude "blocklist";\n' });
    expect(await check(conf)).toEqual({ code: 0, out: '' });
    const running = await serve(conf);
    expect((await send(running, 'a@spam.test', ['bob@here.test'])).rcpts[0]!.text).toBe('550 5.7.1 listed sender');
    expect((await send(running, 'a@fine.test', ['bob@here.test'])).end?.code).toBe(250);
  });

  it('a missing included script is a compile error in check and in serve alike', async () => {
    const conf = await writeConf({ rcptto_phase1: 'require "include";\ninclude "nowhere";\n' });
    const checked = await check(conf);
    expect(checked.code).toBe(1);
    expect(checked.out).toContain(`${join(dir, 'rcptto_phase1.siv')}:2:9: error: included personal script 'nowhere' does not exist`);
    const { running, diagnostics } = await startFromConfig(conf, { logger: pino({ level: 'silent' }) });
    expect(running).toBeNull();
    expect(diagnostics.map((d) => d.message)).toContain("included personal script 'nowhere' does not exist");
  });

  it(':global looks in the global/ directory beside the including script', async () => {
    await mkdir(join(dir, 'global'));
    await writeFile(join(dir, 'global', 'site.siv'), 'require "reject";\nreject "site rule";\n');
    const running = await serve(await writeConf({ mailfrom_phase1: 'require "include";\ninclude :global "site";\n' }));
    expect((await send(running, 'a@x.test', ['b@here.test'])).mail.text).toBe('550 5.7.1 site rule');
  });
});

describe('verdicts scripts cannot forge', () => {
  it('a script that writes smtp_cbv_result is refused when compiled', async () => {
    const conf = await writeConf({ mailfrom_phase1: 'vctx_mess_set "smtp_cbv_result" "pass";\n' });
    const checked = await check(conf);
    expect(checked.code).toBe(1);
    expect(checked.out).toContain(`${join(dir, 'mailfrom_phase1.siv')}:1:15: error: context variable 'smtp_cbv_result' is set by the server and is read-only to scripts`);
  });

  it('through a variable key it is a runtime error, and the spooled envelope shows the real verdict', async () => {
    const remote = await startSmtpRemote({ rcpt: () => ({ code: 550, message: '5.1.1 no such user' }) });
    const dns = await startDnsServer(oneMx('sender.test'));
    cleanups.push(() => remote.close(), () => dns.close());
    const cbv = `smtp_cbv "c" {\n  dns_servers = ( "${dns.address}" )\n  port = ${remote.port}\n  allow_targets = ( "127.0.0.0/8" )\n  helo = "probe.test"\n}\n`;
    // runtime_error = continue: the forging script's failure is ignored, the message accepted.
    const forge = '$k = "smtp_cbv_result";\nvctx_mess_set $k "pass";\n$r = "smtp_cbv_reason";\nvctx_mess_set $r "accepted";\n';
    const read = 'require "environment";\nif environment :is "vnd.smtp-cbv.smtp_cbv_result" "pass" { keep; }\n';
    const conf = await writeConf({ rcptto_phase1: forge, data_phase1: read }, cbv);
    await writeFile(conf, (await readFile(conf, 'utf8')).replace('sieve "s" {', 'sieve "s" {\n  runtime_error = "continue"'));
    const running = await serve(conf);
    expect((await send(running, 'ghost@sender.test', ['bob@here.test'])).end?.code).toBe(250);
    const [env] = await spooled();
    expect(env!.verdicts).toMatchObject({ smtp_cbv_result: 'error', smtp_cbv_reason: 'rejected' });
  });
});

describe('RFC 5228 4.4: discard cancels only the implicit keep', () => {
  it('keep; discard; delivers to INBOX', async () => {
    const running = await serve(await writeConf({ data_phase1: 'keep;\ndiscard;\n' }));
    expect((await send(running, 'a@x.test', ['bob@here.test'])).end?.text).toMatch(/^250 2\.6\.0 Ok: queued as /);
    expect((await spooled()).map((e) => e.recipients)).toEqual([['bob@here.test']]);
  });

  it('fileinto then discard delivers to the folder; discard alone delivers nothing', async () => {
    const running = await serve(await writeConf({ data_phase1: 'require "fileinto";\nif header :is "subject" "file" { fileinto "Lists"; }\ndiscard;\n' }));
    await send(running, 'a@x.test', ['bob@here.test'], 'Subject: file\r\n\r\nx\r\n');
    await send(running, 'a@x.test', ['bob@here.test'], 'Subject: drop\r\n\r\nx\r\n');
    expect(await spooled()).toEqual([]);
    expect(await spooled('.Lists')).toHaveLength(1);
  });
});

describe('MIME nested deeper than the reader goes', () => {
  it('is a runtime error the policy sees (451 with runtime_error = fail), never a silent miss', async () => {
    const running = await serve(await writeConf({ data_phase1: 'require ["body", "reject"];\nif body :text :contains "casino" { reject "spam"; }\n' }));
    let body = 'Content-Type: text/plain\r\n\r\ncasino\r\n';
    for (let i = 0; i < 25; i++) body = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${body}--b${i}--\r\n`;
    expect((await send(running, 'a@x.test', ['bob@here.test'], `Subject: deep\r\n${body}`)).end?.text).toBe('451 4.3.0 Temporary policy error, please try again later');
    expect(await spooled()).toEqual([]);
  });
});

describe("Momentum's inbound audit series when served", () => {
  it('ec_ip_connections counts this client\'s connections: the third is refused', async () => {
    const script = '$n = ec_ip_connections "0" "32";\nif ec_test :value "gt" :comparator "i;ascii-numeric" "${n}" "2" { ec_action 421 "4.7.0 too many connections"; }\n';
    const running = await serve(await writeConf({ connect_phase1: script }));
    const port = running.addresses[0]!.port;
    const greetings = [];
    for (let i = 0; i < 3; i++) {
      const c = await RawSmtpClient.open(port);
      greetings.push((await c.reply()).text);
      c.close();
    }
    expect(greetings).toEqual([expect.stringMatching(/^220 /), expect.stringMatching(/^220 /), '421 4.7.0 too many connections']);
  });
});

describe('one script does not stall other sessions', () => {
  // The script's work takes seconds on a loaded 2-core box: the timeout bounds a hang, it measures nothing.
  it('a session is greeted while another session\'s data-phase script computes', { timeout: 60_000 }, async () => {
    // Regular expressions over a 1 MB body: linear (RE2), but enough work to take a while.
    const keys = Array.from({ length: 100 }, (_, i) => `"x[a-w]*needle-${i}"`).join(', ');
    // Phase 1 says the data phase has started (ec_log goes to the server's log at once); phase 2 computes.
    const conf = await writeConf({ data_phase1: 'ec_log "data phase started";\n', data_phase2: `require ["body", "regex"];\nif body :raw :regex [${keys}] { discard; }\n` });
    const logged: string[] = [];
    const { running } = await startFromConfig(conf, { logger: pino({ level: 'info' }, { write: (line: string) => void logged.push(line) }) });
    cleanups.push(() => running!.stop(0));
    const port = running!.addresses[0]!.port;
    const busy = await RawSmtpClient.open(port);
    await busy.reply();
    await busy.command('EHLO busy.test');
    await busy.command('MAIL FROM:<a@b.test>');
    await busy.command('RCPT TO:<c@d.test>');
    await busy.command('DATA');
    const order: string[] = [];
    const done = busy.command(`Subject: big\r\n\r\n${`${'x'.repeat(998)}\r\n`.repeat(1000)}.`).then((r) => order.push(`busy DATA answered ${r.code}`));
    // Knock once the data phase runs, not after a guessed delay: on a loaded machine the message may not have arrived yet.
    while (!logged.some((l) => l.includes('data phase started'))) await new Promise((r) => setTimeout(r, 10));
    const other = await RawSmtpClient.open(port);
    await other.reply().then(() => order.push('other greeted'));
    await done;
    expect(order).toEqual(['other greeted', 'busy DATA answered 250']);
    other.close();
    busy.close();
  });
});

describe("Momentum's envelope actions when served", () => {
  it('ec_rewrite_mailfrom changes the stored envelope sender; add_recipient adds a recipient', async () => {
    const running = await serve(await writeConf({ data_phase1: 'ec_rewrite_mailfrom "bounces@here.test";\nadd_recipient "archive@here.test";\n' }));
    expect((await send(running, 'a@x.test', ['bob@here.test'])).end?.code).toBe(250);
    const [env] = (await spooled()) as unknown as Array<{ recipients: string[]; mailFrom: string }>;
    expect(env).toMatchObject({ mailFrom: 'bounces@here.test', recipients: ['bob@here.test', 'archive@here.test'] });
  });

  it('a bare ec_disconnect closes the connection after the phase\'s ordinary reply', async () => {
    const running = await serve(await writeConf({ mailfrom_phase1: 'ec_disconnect;\n' }));
    const c = await RawSmtpClient.open(running.addresses[0]!.port);
    await c.reply();
    await c.command('EHLO client.test');
    expect((await c.command('MAIL FROM:<a@x.test>')).code).toBe(250);
    await c.waitClosed();
  });
});
