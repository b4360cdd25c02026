/**
 * Peak resident memory of `smtp-cbv serve` while 100 clients each send a
 * 10 MiB message at once (docs/server.md, "Messages on disk"), through the
 * example data-phase policy (header tests only), into the durable Maildir:
 *   - baseline: every message held in memory as it arrives, as before the
 *     spool file (message_spool_threshold above the message size, and a
 *     memory budget that refuses nothing);
 *   - smtp-cbv as configured by default: messages past 128 KiB go to the
 *     spool's tmp/ as they arrive, the default budget (512m) in force;
 *   - the same with a data-phase script that scans every body (`body :raw
 *     :contains`): each body is read from the spool file as it comes, and
 *     no message is held whole;
 *   - the same with `body :contains` (:text) and each message a short
 *     text part beside a 10 MiB base64 text attachment: the attachment is
 *     decoded as it is read;
 *   - the same with `body :text :contains` and each message one 10 MiB
 *     HTML part: it is reduced to its text as it is read;
 *   - the same with `body :raw :matches "*text*more*"` (texts in order),
 *     and with `"*t?xt*end"` (a `?`, and text at the end): each body is
 *     read from the spool file as it comes too;
 *   - the same with `body :raw :regex` whose matches are short (Momentum's
 *     own example): matched in windows of the body as it is read;
 *   - the same with `body :raw :regex "no such.*text"`, whose matches have
 *     no bound but no line break: matched in windows that begin after one;
 *   - the same with a script that needs every body whole (`body :raw
 *     :regex` whose matches have no bound and cross lines): each message is
 *     read whole against the budget, and past it the DATA gets 452 4.3.1;
 *   - the same with a script that tests the header fields of every MIME part
 *     (foreverypart, `header :mime`): the MIME reader streams the spool file
 *     and loads no message whole;
 *   - the same relayed to a next hop (a top-level Gateway: a bare
 *     smtp-server in this process that reads every message), the peak
 *     taken once the next hop has them all: each delivery reads its
 *     message from the queue entry as it sends it (docs/delivery.md);
 *   - `smtp-cbv milter` with the example data-phase policy, each message
 *     sent as Postfix sends it to a milter (a frame per header field, the
 *     body in 64 KB chunks): held in memory up to message_spool_threshold,
 *     written to spool_dir/milter/ past it (docs/postfix.md, "Large
 *     messages"). Postfix keeps the mail, so nothing is stored.
 * Each server runs in its own process; the peak is its VmHWM. Also the
 * fsyncs per accepted message, counted with strace when it is installed.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawSmtpClient } from '../test/helpers/smtp-client.js';
import { MilterClient, playTransaction } from '../test/helpers/milter-client.js';
import { tuneHeap } from '../src/server/heap-tuning.js';
import { SMTPServer } from 'smtp-server';
import { benchTempDir } from './temp-dirs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLIENTS = 100;
const SIZE = 10 * 1024 * 1024;
const PORT = 2597;
const MILTER_PORT = 2598;
const SINK_PORT = 2599;

const line = `${'x'.repeat(76)}\r\n`;
const BODY = `From: a@sender.test\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: big\r\n\r\n${line.repeat(Math.ceil(SIZE / line.length))}`;

/** The same size as a base64 text attachment (a CSV, as senders attach one) beside a short text part. */
const ATTACHED = [
  'From: a@sender.test',
  'Date: Mon, 1 Jan 2024 00:00:00 +0000',
  'Subject: big attachment',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b"',
  '',
  '--b',
  'Content-Type: text/plain',
  '',
  'see attached',
  '--b',
  'Content-Type: text/csv; name="data.csv"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from(line.repeat(Math.ceil((SIZE * 3) / 4 / line.length))).toString('base64').replace(/.{76}/g, '$&\r\n'),
  '--b--',
  '',
].join('\r\n');

/** A message of one HTML part, for body :text (reduced to its text as it is read). */
const HTML = `From: a@sender.test\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: big html\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>\r\n${'<tr><td class="c">cell &amp; more text</td></tr>\r\n'.repeat(Math.ceil(SIZE / 50))}</body></html>\r\n`;

async function send(body = BODY): Promise<number> {
  const c = await RawSmtpClient.open(PORT);
  try {
    await c.reply();
    await c.command('EHLO bench.test');
    await c.command('MAIL FROM:<a@sender.test>');
    await c.command('RCPT TO:<bob@here.test>');
    if ((await c.command('DATA')).code !== 354) return 0;
    return (await c.command(`${body}.`)).code;
  } finally {
    c.close();
  }
}

/** One message through the milter as Postfix sends it; the SMTP code Postfix would give (250 when the milter lets it go on). */
async function sendMilter(): Promise<number> {
  const c = await MilterClient.open(MILTER_PORT);
  try {
    await c.negotiate();
    const t = await playTransaction(c, { from: 'a@sender.test', to: ['bob@here.test'], message: BODY });
    const last = t.eom?.at(-1);
    if (!last) return 0;
    return last.kind === 'replycode' ? Number(last.text.slice(0, 3)) : last.kind === 'tempfail' ? 451 : last.kind === 'reject' ? 550 : 250;
  } finally {
    c.close();
  }
}

/** `serve` into its Maildir; `serve` relaying every message to a next hop (a Gateway); `smtp-cbv milter`. */
type Door = 'serve' | 'relay' | 'milter';

/** The relay's next hop: a bare smtp-server in this process that reads every message and keeps none. */
async function startSink(): Promise<{ port: number; received: () => number; close: () => Promise<void> }> {
  let received = 0;
  const sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    size: 50 << 20,
    onData(stream, _session, cb) {
      stream.on('data', () => {});
      stream.on('end', () => {
        received++;
        cb();
      });
    },
  });
  // smtp-server's 100 ms early-talker pause before every greeting; the relay's connections are kept open anyway.
  await new Promise<void>((r) => sink.listen(SINK_PORT, '127.0.0.1', () => r()));
  return { port: SINK_PORT, received: () => received, close: () => new Promise((r) => sink.close(() => r())) };
}

async function run(dir: string, name: string, extra: string, script = join(root, 'examples', 'policy', 'data.siv'), door: Door = 'serve', body = BODY): Promise<{ peak: number; codes: Map<number, number>; stored: number }> {
  const spool = join(dir, `${name}-spool`);
  const conf = join(dir, `${name}.conf`);
  const sink = door === 'relay' ? await startSink() : undefined;
  const listener =
    door !== 'milter'
      ? `${sink ? `Gateway = "127.0.0.1:${sink.port}"\n` : ''}ESMTP_Listener {\n  hostname = "bench.test"\n  max_message_size = 20m\n  max_connections_per_ip = 1000\n${extra}\n  Listen "127.0.0.1:${PORT}" { }\n}\n`
      : `Milter_Listener {\n  listen = "127.0.0.1:${MILTER_PORT}"\n  max_message_size = 20m\n  max_connections = 1000\n${extra}\n}\n`;
  await writeFile(conf, `spool_dir = "${spool}"\nlogging { level = warn pretty = false }\n${listener}sieve "s" {\n  script "data_phase1" { source = "${script}" }\n}\n`);
  // With this process's node flags: `node --allocation-site-pretenuring dist/bench/message-memory.bench.js` measures V8's default collector.
  const child = spawn(process.execPath, [...process.execArgv, join(root, 'bin', 'smtp-cbv.js'), door === 'milter' ? 'milter' : 'serve', '--config', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  const port = door === 'milter' ? MILTER_PORT : PORT;
  for (let i = 0; i < 400; i++) {
    if (await RawSmtpClient.open(port).then((c) => (c.close(), true), () => false)) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const codes = new Map<number, number>();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    const code = await (door === 'milter' ? sendMilter() : send(body)).catch(() => 0);
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }));
  // Relaying: the peak is the one of receiving and delivering, so wait until the next hop has every accepted message.
  const accepted = codes.get(250) ?? 0;
  for (let i = 0; sink && sink.received() < accepted && i < 1200; i++) await new Promise((r) => setTimeout(r, 100));
  const peak = Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const stored = sink ? sink.received() : (await readdir(join(spool, 'new')).catch(() => [])).length;
  await sink?.close();
  return { peak, codes, stored };
}

const mb = (bytes: number) => (bytes / 1048576).toFixed(0);
const codes = (m: Map<number, number>) => [...m].map(([c, n]) => `${n}x ${c || 'error'}`).join(', ');

async function main() {
  // The collector set as `serve` sets it (src/server/heap-tuning.ts); NODE_OPTIONS=--allocation-site-pretenuring measures V8's default.
  tuneHeap();
  const { dir, remove: removeDir } = await benchTempDir('smtp-cbv-bench-mem-');
  try {
    const before = await run(dir, 'in-memory', '  message_spool_threshold = 1g\n  max_message_memory = 8g');
    const after = await run(dir, 'spooled', '');
    // The default configuration with a data-phase script of its own.
    const withScript = async (name: string, script: string, body = BODY) => {
      const file = join(dir, `${name}.siv`);
      await writeFile(file, script);
      return run(dir, name, '', file, 'serve', body);
    };
    const body = await withScript('body', 'require ["body", "reject"];\nif body :raw :contains "no such text" { reject "no"; }\n');
    const attached = await withScript('attached', 'require ["body", "reject"];\nif body :contains "no such text" { reject "no"; }\n', ATTACHED);
    const html = await withScript('html', 'require ["body", "reject"];\nif body :text :contains "no such text" { reject "no"; }\n', HTML);
    const order = await withScript('order', 'require ["body", "reject"];\nif body :raw :matches "*no such*text*" { reject "no"; }\n');
    const wildcard = await withScript('wildcard', 'require ["body", "reject"];\nif body :raw :matches "*no?such*text" { reject "no"; }\n');
    const regex = await withScript('regex', 'require ["body", "regex", "reject"];\nif body :raw :regex "\\\\bv[il1][a4].{,3}[gk].{,2}r[a4]\\\\b" { reject "no"; }\n');
    const lines = await withScript('lines', 'require ["body", "reject", "regex"];\nif body :raw :regex "no such.*text" { reject "no"; }\n');
    const whole = await withScript('whole', 'require ["body", "reject", "regex"];\nif body :raw :regex "(?s)no such.*text" { reject "no"; }\n');
    const mime = await withScript('mime', 'require ["foreverypart", "mime", "reject"];\nforeverypart { if header :mime :type "content-type" "application" { reject "no"; } }\n');
    const milter = await run(dir, 'milter', '', undefined, 'milter');
    const relay = await run(dir, 'relay', '', undefined, 'relay');
    console.log(`peak resident memory, ${CLIENTS} clients sending a ${SIZE / 1048576} MiB message each at once (example data policy, Maildir spool)`);
    console.log(`  baseline: messages held in memory      ${mb(before.peak).padStart(5)} MB  (${codes(before.codes)}; ${before.stored} stored)`);
    console.log(`  smtp-cbv: spooled past 128 KiB         ${mb(after.peak).padStart(5)} MB  (${codes(after.codes)}; ${after.stored} stored)`);
    console.log(`  spooled, a script scanning every body  ${mb(body.peak).padStart(5)} MB  (${codes(body.codes)}; ${body.stored} stored; body :raw :contains)`);
    console.log(`  spooled, base64 text attachments, body :contains ${mb(attached.peak).padStart(5)} MB  (${codes(attached.codes)}; ${attached.stored} stored; decoded as read)`);
    console.log(`  spooled, HTML bodies, body :text :contains ${mb(html.peak).padStart(5)} MB  (${codes(html.codes)}; ${html.stored} stored; reduced to text as read)`);
    console.log(`  spooled, texts in order in every body  ${mb(order.peak).padStart(5)} MB  (${codes(order.codes)}; ${order.stored} stored; body :raw :matches "*a*b*")`);
    console.log(`  spooled, a \`?\` and an end in every body ${mb(wildcard.peak).padStart(5)} MB  (${codes(wildcard.codes)}; ${wildcard.stored} stored; body :raw :matches "*a?b*c")`);
    console.log(`  spooled, a short-match :regex on every body ${mb(regex.peak).padStart(5)} MB  (${codes(regex.codes)}; ${regex.stored} stored; body :raw :regex, in windows)`);
    console.log(`  spooled, a :regex with repeats          ${mb(lines.peak).padStart(5)} MB  (${codes(lines.codes)}; ${lines.stored} stored; body :raw :regex "a.*b", in windows)`);
    console.log(`  spooled, a script reading every body whole ${mb(whole.peak).padStart(5)} MB  (${codes(whole.codes)}; ${whole.stored} stored; body :raw :regex "(?s)a.*b")`);
    console.log(`  spooled, a script testing MIME parts   ${mb(mime.peak).padStart(5)} MB  (${codes(mime.codes)}; ${mime.stored} stored)`);
    console.log(`  relayed to a next hop (Gateway), until delivered ${mb(relay.peak).padStart(5)} MB  (${codes(relay.codes)}; ${relay.stored} delivered)`);
    console.log(`  the milter (smtp-cbv milter), as Postfix sends it ${mb(milter.peak).padStart(5)} MB  (${codes(milter.codes)}; Postfix keeps the mail)`);
    console.log(`  ratio spooled / in memory:             ${(after.peak / before.peak).toFixed(2)}  (target: spooled <= 300 MB)`);
  } finally {
    await removeDir();
  }
}

await main();
