/**
 * ec_maildir (sieve-ref-ec-maildir.md) with Momentum's maildir module
 * (3-reference-modules-maildir.md) through the whole server: the each_rcpt
 * phase chooses a user's Maildir, the message is written there durably
 * before the reply, and not delivered the ordinary way for that recipient.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { startConfig, writeConfig } from '../helpers/config-server.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-user-maildir-'));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await rm(dir, { recursive: true, force: true });
});

// Momentum's first example on the ec_maildir page.
const EACH_RCPT = 'require "ec_maildir";\nif envelope :domain :is "to" "localdomain.com" {\n  ec_maildir "%{vctx_mess:rcptto_localpart}@%{vctx_mess:rcptto_domain}";\n}\n';
const MESSAGE = 'From: a@sender.test\r\nSubject: to the maildir\r\n\r\nhello\r\n';
const files = (d: string) => readdir(d).catch(() => [] as string[]);

async function send(port: number, to: string[]) {
  const c = await RawSmtpClient.open(port);
  try {
    return await sendMail(c, 'a@sender.test', to, MESSAGE);
  } finally {
    c.close();
  }
}

it("writes the message into the user's Maildir under basedir/domain/user, with the module's modes, and not into the spool", async () => {
  const extra = 'maildir { basedir = "mail" domain_in_path = true create_users = true dirmode = 750 filemode = 640 }';
  const server = await startConfig(await writeConfig(dir, { each_rcpt_phase1: EACH_RCPT }, extra), cleanups);
  // The page's test compares with i;octet, Sieve++'s default: the domain as written; the local part keeps its case in the path.
  const r = await send(server.addresses[0]!.port, ['Bob@localdomain.com']);
  expect(r.end?.code).toBe(250);
  const box = join(dir, 'mail', 'localdomain.com', 'Bob');
  const [name, more] = await files(join(box, 'new'));
  expect(more).toBeUndefined();
  expect(await readFile(join(box, 'new', name!), 'utf8')).toContain('Subject: to the maildir\r\n\r\nhello\r\n');
  expect((await stat(join(box, 'new', name!))).mode & 0o777).toBe(0o640);
  expect((await stat(join(box, 'cur'))).mode & 0o777).toBe(0o750);
  expect(await files(join(box, 'tmp'))).toEqual([]);
  // The recipient's message went to its Maildir instead of the spool.
  expect(await files(join(dir, 'spool', 'new'))).toEqual([]);
  // Another domain's recipient is delivered the ordinary way.
  expect((await send(server.addresses[0]!.port, ['carol@other.test'])).end?.code).toBe(250);
  expect(await files(join(dir, 'spool', 'new'))).toHaveLength(1);
});

it('refuses a recipient whose mailbox does not exist without create_users (550 5.1.1), and a local part that is not a plain name', async () => {
  const extra = 'maildir { basedir = "mail" }';
  const script = 'if envelope :localpart :is "to" "dots" { ec_maildir "../x@localdomain.com"; }\nec_maildir "%{vctx_mess:rcptto_localpart}@%{vctx_mess:rcptto_domain}";\n';
  const server = await startConfig(await writeConfig(dir, { each_rcpt_phase1: script }, extra), cleanups);
  const port = server.addresses[0]!.port;
  const r = await send(port, ['nobody@localdomain.com']);
  expect([r.end?.code, r.end?.text]).toEqual([550, '550 5.1.1 <nobody@localdomain.com>: mailbox unavailable']);
  expect((await send(port, ['dots@localdomain.com'])).end?.text).toBe('550 5.1.1 <"../x"@localdomain.com>: no such mailbox here');
  expect(await files(join(dir, 'mail'))).toEqual([]);
});

it("reads Momentum's maildir scope, warning of the domain choices it does not take", () => {
  const r = parseConfigText('maildir "maildir1" {\n  basedir = "/var/tmp/popbase"\n  dirmode = 775\n  filemode = 664\n  create_users = true\n  domain_in_path = true\n  all_domains = false\n  domains = ( "example.com" "another.example.com")\n}\n', join(dir, 'x.conf'));
  expect(r.diagnostics.map((d) => d.message)).toEqual([
    "Momentum's option 'all_domains' in maildir \"maildir1\" has no effect in smtp-cbv: ignored",
    "Momentum's option 'domains' in maildir \"maildir1\" has no effect in smtp-cbv: ignored",
  ]);
  expect(r.config!.maildir).toEqual({ basedir: '/var/tmp/popbase', domainInPath: true, createUsers: true, dirMode: 0o775, fileMode: 0o664 });
  expect(parseConfigText('maildir { basedir = "m" dirmode = 799 }\n', join(dir, 'x.conf')).diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual(["1:35 dirmode: expected a permission mode in octal, such as 750, found '799'"]);
});

it('answers 451 4.3.0 when a Maildir cannot be written, so the client sends the message again', async () => {
  // A file where basedir should be a directory: no mailbox can be made under it.
  await writeFile(join(dir, 'mail'), 'not a directory');
  const server = await startConfig(await writeConfig(dir, { each_rcpt_phase1: EACH_RCPT }, 'maildir { basedir = "mail" create_users = true }'), cleanups);
  const r = await send(server.addresses[0]!.port, ['bob@localdomain.com']);
  expect([r.end?.code, r.end?.text]).toEqual([451, '451 4.3.0 Local error in processing, please try again later']);
  expect(await files(join(dir, 'spool', 'new'))).toEqual([]);
});
