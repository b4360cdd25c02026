/**
 * `smtp-cbv policy` and `smtp-cbv milter` beside a real Postfix, driven by
 * swaks (docs/postfix.md). test/interop/services/postfix-frontdoors.sh
 * gives Postfix a listener on 127.0.0.1:2530 that asks our policy service
 * (127.0.0.1:2532) at RCPT and at end of data, and our milter
 * (127.0.0.1:2531) for every event. CBV probes go, through dnsmasq, to the
 * interop Postfix on 127.0.0.1:2526, where alice@vm.test exists and
 * nosuchuser@vm.test does not. Run with `npm run test:interop`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, watch } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBeside, startBeside } from '../../src/frontdoors/run-beside.js';
import { fileTail } from '../helpers/file-tail.js';

const dnsServer = process.env.INTEROP_DNS;
const probePort = Number(process.env.INTEROP_PORT);
if (!dnsServer || !probePort) throw new Error('run me through test/interop/setup.sh (INTEROP_DNS, INTEROP_PORT)');
const POSTFIX = 2530;
const MILTER = 2531;
const POLICY = 2532;
const PATH = `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}`;

const scripts = {
  'mailfrom.siv': 'require ["envelope", "fileinto"];\nif envelope :localpart :matches "from" "*+hold-*" { fileinto "Quarantine"; }\n',
  'rcptto.siv': 'if vctx_mess :is "smtp_cbv_result" "error" {\n  ec_action 550 "5.7.1 smtp-cbv: sender verification failed (%{vctx_mess:smtp_cbv_reason})";\n}\n',
  'data.siv':
    'require ["fileinto", "body"];\nec_header_add "X-Smtp-Cbv" "checked %{vctx_mess:smtp_cbv_result} %{vctx_conn:milter_i}";\n' +
    'if body :raw :contains "large-tail-marker" { ec_header_add "X-Smtp-Cbv-Body" "read whole"; }\n' +
    'if header :contains "subject" "discard-me" { discard; }\nif header :contains "subject" "quarantine-me" { fileinto "Quarantine"; }\n' +
    'if header :contains "subject" "disclaim-me" { $d = hash_create; hash_set $d "plain" "Scanned by smtp-cbv."; disclaimer_add $d; }\n',
  'each_rcpt.siv': 'require "envelope";\nif envelope :localpart :matches "to" "alice+refused-*" { ec_action 550 "5.7.1 smtp-cbv: not for this address"; }\n',
};

const config = `
smtp_cbv {
  dns_servers = ( "${dnsServer}" )
  port = ${probePort}
  allow_targets = ( 127.0.0.0/8 )
  helo = "probe.test"
  timeout = 20
}
sieve {
  script "mailfrom_phase1" { source = "mailfrom.siv" }
  script "rcptto_phase1" { source = "rcptto.siv" }
  script "data_phase1" { source = "data.siv" }
  script "each_rcpt_phase1" { source = "each_rcpt.siv" }
}
Policy_Listener { listen = "127.0.0.1:${POLICY}" }
Milter_Listener { listen = "127.0.0.1:${MILTER}" }
`;

const logger = pino({ level: process.env.INTEROP_LOG ?? 'silent' });
let file = '';
let policy: RunningBeside | null = null;
let milter: RunningBeside | null = null;

async function start(kind: 'policy' | 'milter'): Promise<RunningBeside> {
  const { running, diagnostics } = await startBeside(kind, file, { logger });
  if (!running) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return running;
}

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-frontdoors-'));
  for (const [name, text] of Object.entries(scripts)) await writeFile(join(dir, name), text);
  file = join(dir, 'smtp-cbv.conf');
  await writeFile(file, config);
  policy = await start('policy');
  milter = await start('milter');
});
afterAll(async () => {
  await policy?.stop(0);
  await milter?.stop(0);
});

/**
 * One message through Postfix's front-door listener with swaks; its
 * transcript and exit status. Asynchronous: the services under test run in
 * this process and must answer Postfix while swaks waits.
 */
function swaks(from: string, to: string, subject: string, body = 'hello from swaks'): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('swaks', ['--server', `127.0.0.1:${POSTFIX}`, '--from', from, '--to', to, '--header', `Subject: ${subject}`, '--body', body, '--timeout', '60'], { env: { ...process.env, PATH } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.on('close', (status) => resolve({ status, out }));
  });
}

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What Postfix's local agent delivers to alice from now on: the mailbox holds earlier runs' and the benchmarks' mail too. */
const mailbox = fileTail('/var/mail/alice');
/** The mbox message carrying `marker`, once Postfix's local agent has delivered it. */
const mailboxMessage = (marker: string) => () => mailbox.message(marker);

/** Postfix's queue as postqueue -j lists it. */
function queue(): Array<{ queue_name: string; queue_id: string; sender: string }> {
  const r = spawnSync('postqueue', ['-j'], { encoding: 'utf8', env: { ...process.env, PATH } });
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Postfix's log from now on: earlier runs and the benchmarks wrote to it too. */
const log = fileTail('/var/log/postfix.log');
const postfixLog = () => log.appended();

describe('beside a real Postfix', () => {
  it('a sender whose CBV fails gets Postfix\'s 550 with our text (policy service at RCPT)', async () => {
    const r = await swaks('nosuchuser@vm.test', 'alice@vm.test', 'cbv fails');
    expect(r.status).toBe(24); // swaks: a recipient was rejected
    expect(r.out).toMatch(/<\*\* +550 5\.7\.1 .*smtp-cbv: sender verification failed \(rejected\)/);
  });

  it('a data-phase header is in the mail Postfix delivers (milter INSHEADER)', async () => {
    const marker = `deliver-${randomUUID()}`;
    const r = await swaks('alice@vm.test', 'alice@vm.test', marker);
    expect(r.status, r.out).toBe(0);
    const msg = await waitFor('delivery to /var/mail/alice', mailboxMessage(marker));
    expect(msg).toMatch(/^X-Smtp-Cbv: checked pass \S+$/m);
  });

  it('a large message: the milter writes it to spool_dir/milter/ as Postfix sends it, the script reads it whole, and the file is gone after', async () => {
    const marker = `large-${randomUUID()}`;
    const body = join(file, '..', 'large-body.txt');
    // About 1 MB: past message_spool_threshold (128 KiB), in Postfix's 64 KB body chunks.
    await writeFile(body, `${'a line of the large message body, to be spooled\r\n'.repeat(20_000)}large-tail-marker\r\n`);
    const created: string[] = [];
    const spool = join(file, '..', 'var', 'spool', 'milter');
    const watcher = watch(spool, (_event, name) => name && created.push(String(name)));
    try {
      const r = await swaks('alice@vm.test', 'alice@vm.test', marker, `@${body}`);
      expect(r.status, r.out).toBe(0);
      const msg = await waitFor('delivery to /var/mail/alice', mailboxMessage(marker));
      expect(msg).toMatch(/^X-Smtp-Cbv-Body: read whole$/m);
      expect(created.some((n) => n.startsWith('incoming.'))).toBe(true);
      expect(readdirSync(spool)).toEqual([]);
    } finally {
      watcher.close();
    }
  });

  it('disclaimer_add: Postfix delivers the body the milter replaced, with the header fields that describe it (milter REPLBODY)', async () => {
    const marker = `disclaim-me-${randomUUID()}`;
    const r = await swaks('alice@vm.test', 'alice@vm.test', marker, 'first line of the body');
    expect(r.status, r.out).toBe(0);
    const msg = await waitFor('delivery to /var/mail/alice', mailboxMessage(marker));
    // After the text as it came (swaks ends it with empty lines), on lines of its own.
    expect(msg).toMatch(/\nfirst line of the body\n\n*Scanned by smtp-cbv\.\n/);
    expect(msg).toMatch(/^Content-Type: text\/plain; charset=utf-8$/m);
    expect(msg).toMatch(/^Content-Transfer-Encoding: quoted-printable$/m);
  });

  it('each_rcpt refuses one recipient of two: Postfix delivers to the other and never queues the refused one (milter DELRCPT)', async () => {
    const marker = `each-rcpt-${randomUUID()}`;
    // recipient_delimiter is + (setup.sh): the refused address is alice's too, so Postfix would deliver it were it not deleted.
    const refused = `alice+refused-${randomUUID().slice(0, 8)}@vm.test`;
    const r = await swaks('alice@vm.test', `alice@vm.test,${refused}`, marker);
    expect(r.status, r.out).toBe(0);
    const msg = await waitFor('delivery to /var/mail/alice', mailboxMessage(marker));
    const queueId = /by vm\.test \(Postfix\) with E?SMTP id ([0-9A-F]+)/.exec(msg)?.[1];
    expect(queueId, msg).toBeDefined();
    const lines = () => postfixLog().split('\n').filter((l) => l.includes(`${queueId}:`));
    await waitFor(`Postfix done with ${queueId}`, () => (lines().some((l) => l.endsWith(': removed')) ? true : undefined));
    expect(lines().filter((l) => l.includes('status=sent')).length).toBeGreaterThan(0);
    expect(lines().filter((l) => l.includes(refused))).toEqual([]);
  });

  it('a discard at DATA: Postfix answers 250 and discards the message (milter DISCARD)', async () => {
    const sender = `alice+discard-${randomUUID().slice(0, 8)}@vm.test`;
    const r = await swaks(sender, 'alice@vm.test', 'discard-me');
    expect(r.status, r.out).toBe(0);
    const line = await waitFor('the discard in the log', () => postfixLog().split('\n').find((l) => l.includes('milter triggers DISCARD action') && l.includes(sender)));
    expect(line).toContain('END-OF-MESSAGE');
  });

  it('quarantine: fileinto at DATA holds the message in the hold queue (milter QUARANTINE)', async () => {
    const sender = `alice+q-${randomUUID().slice(0, 8)}@vm.test`;
    const r = await swaks(sender, 'alice@vm.test', 'quarantine-me');
    expect(r.status, r.out).toBe(0);
    const held = await waitFor('the held message', () => queue().find((m) => m.sender === sender));
    expect(held.queue_name).toBe('hold');
    spawnSync('postsuper', ['-d', held.queue_id, 'hold'], { env: { ...process.env, PATH } });
  });

  it('quarantine: fileinto at MAIL FROM is the policy service\'s HOLD', async () => {
    const sender = `alice+hold-${randomUUID().slice(0, 8)}@vm.test`;
    const r = await swaks(sender, 'alice@vm.test', 'held by policy');
    expect(r.status, r.out).toBe(0);
    const held = await waitFor('the held message', () => queue().find((m) => m.sender === sender));
    expect(held.queue_name).toBe('hold');
    const line = postfixLog().split('\n').find((l) => l.includes(`from=<${sender}>`) && l.includes('hold: RCPT'));
    expect(line).toContain('smtp-cbv fileinto Quarantine');
    spawnSync('postsuper', ['-d', held.queue_id, 'hold'], { env: { ...process.env, PATH } });
  });

  it('smtp-cbv stopped: Postfix applies its default actions (milter tempfail, policy 451 4.3.5)', async () => {
    await milter!.stop(0);
    milter = null;
    const noMilter = await swaks('alice@vm.test', 'alice@vm.test', 'no milter');
    expect(noMilter.out).toMatch(/<\*\* +451 4\.7\.1 Service unavailable - try again later/);
    milter = await start('milter');
    await policy!.stop(0);
    policy = null;
    const noPolicy = await swaks('alice@vm.test', 'alice@vm.test', 'no policy');
    expect(noPolicy.out).toMatch(/<\*\* +451 4\.3\.5 .*Server configuration problem/);
    policy = await start('policy');
    const back = await swaks('alice@vm.test', 'alice@vm.test', 'back');
    expect(back.status, back.out).toBe(0);
  });
});
