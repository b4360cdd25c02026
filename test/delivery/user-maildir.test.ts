/**
 * ec_maildir (sieve-ref-ec-maildir.md) with Momentum's maildir module
 * (3-reference-modules-maildir.md) through the whole server: the each_rcpt
 * phase chooses a user's Maildir, the message is written there durably
 * before the reply, and not delivered the ordinary way for that recipient.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { startConfig, writeConfig } from '../helpers/config-server.js';
import { sendMail, startTestServer } from '../helpers/server-fixture.js';
import { userMaildirs } from '../../src/delivery/user-maildir.js';
import { SievePolicy } from '../../src/session/policy.js';
import type { Accepted, MessageStore, UserMaildirs } from '../../src/session/session-types.js';
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

it("reads Momentum's maildir scope as its page prints it, warning only of the one-domain option it does not take", () => {
  const r = parseConfigText('maildir "maildir1" {\n  basedir = "/var/tmp/popbase"\n  dirmode = 775\n  filemode = 664\n  create_users = true\n  domain_in_path = true\n  all_domains = false\n  domains = ( "example.com"\n            "Another.Example.com.")\n}\n', join(dir, 'x.conf'));
  expect(r.diagnostics).toEqual([]);
  expect(r.config!.maildir).toEqual({ basedir: '/var/tmp/popbase', domainInPath: true, createUsers: true, dirMode: 0o775, fileMode: 0o664, allDomains: false, domains: ['example.com', 'another.example.com'] });
  expect(parseConfigText('maildir { basedir = "m" domain = "example.com" }\n', join(dir, 'x.conf')).diagnostics.map((d) => d.message)).toEqual(["Momentum's option 'domain' in maildir has no effect in smtp-cbv: ignored"]);
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

describe("the module's own domains (all_domains, domains), without a script", () => {
  it("delivers their recipients to their Maildirs instead of the spool, and other domains' the ordinary way, in one message", async () => {
    await mkdir(join(dir, 'mail', 'bob', 'new'), { recursive: true });
    const server = await startConfig(await writeConfig(dir, {}, 'maildir { basedir = "mail" domains = ( "Here.test" ) }'), cleanups);
    const r = await send(server.addresses[0]!.port, ['bob@here.test', 'carol@other.test']);
    expect(r.end?.code).toBe(250);
    const [name] = await files(join(dir, 'mail', 'bob', 'new'));
    expect(await readFile(join(dir, 'mail', 'bob', 'new', name!), 'utf8')).toContain('Subject: to the maildir\r\n\r\nhello\r\n');
    // carol's copy went to the spool; bob's did not.
    const [spooled, more] = await files(join(dir, 'spool', 'new'));
    expect(more).toBeUndefined();
    const journal = (await Promise.all((await files(join(dir, 'spool', 'envelopes'))).map((f) => readFile(join(dir, 'spool', 'envelopes', f), 'utf8')))).join('');
    expect(journal).toContain(spooled!.split(':')[0]!);
    expect(journal).toContain('carol@other.test');
    expect(journal).not.toContain('"bob@here.test"');
  });

  it('refuses at RCPT TO a recipient of its domains without a mailbox, unless create_users makes one', async () => {
    const port = (await startConfig(await writeConfig(dir, {}, 'maildir { basedir = "mail" domains = ( "here.test" ) }'), cleanups)).addresses[0]!.port;
    const r = await send(port, ['nobody@here.test']);
    expect(r.rcpts?.[0]?.text).toBe('550 5.1.1 <nobody@here.test>: mailbox unavailable');
    expect(r.end).toBeUndefined();
    expect((await send(port, ['carol@other.test'])).end?.code).toBe(250);

    const other = await mkdtemp(join(tmpdir(), 'smtp-cbv-user-maildir-'));
    cleanups.push(() => rm(other, { recursive: true, force: true }));
    const made = (await startConfig(await writeConfig(other, {}, 'maildir { basedir = "mail" all_domains = true create_users = true domain_in_path = true }'), cleanups)).addresses[0]!.port;
    expect((await send(made, ['New.User@Any.test'])).end?.code).toBe(250);
    expect(await files(join(other, 'mail', 'any.test', 'New.User', 'new'))).toHaveLength(1);
    expect(await files(join(other, 'spool', 'new'))).toEqual([]);
  });

  it('names a quoted local part\'s Maildir without its quotes, as ec_maildir does', async () => {
    const port = (await startConfig(await writeConfig(dir, {}, 'maildir { basedir = "mail" all_domains = true create_users = true }'), cleanups)).addresses[0]!.port;
    const r = await send(port, ['"john,smith"@here.test']);
    expect(r.end?.code).toBe(250);
    expect(await files(join(dir, 'mail', 'john,smith', 'new'))).toHaveLength(1);
    expect(await files(join(dir, 'mail'))).toEqual(['john,smith']);
    const mailboxes = userMaildirs(() => ({ basedir: '/m', domainInPath: true, createUsers: true, dirMode: 0o700, fileMode: 0o600, allDomains: true, domains: [] }));
    expect(mailboxes.claims('"a\\"b"@Here.test')).toBe('/m/here.test/a"b');
    expect(mailboxes.claims('plain@here.test')).toBe('/m/here.test/plain');
  });

  it("leaves a recipient to its script's ec_maildir, writing one copy", async () => {
    await mkdir(join(dir, 'mail', 'localdomain.com', 'bob', 'new'), { recursive: true });
    const server = await startConfig(await writeConfig(dir, { each_rcpt_phase1: EACH_RCPT }, 'maildir { basedir = "mail" domain_in_path = true all_domains = true }'), cleanups);
    expect((await send(server.addresses[0]!.port, ['bob@localdomain.com'])).end?.code).toBe(250);
    expect(await files(join(dir, 'mail', 'localdomain.com', 'bob', 'new'))).toHaveLength(1);
    expect(await files(join(dir, 'spool', 'new'))).toEqual([]);
  });

  it('takes no recipient beside an MTA that keeps the message (the milter, the policy service): the MTA delivers it', async () => {
    const asked: string[] = [];
    const mailboxes = userMaildirs(() => ({ basedir: join(dir, 'mail'), domainInPath: false, createUsers: false, dirMode: 0o700, fileMode: 0o600, allDomains: true, domains: [] }));
    const watched: UserMaildirs = { write: mailboxes.write, claims: (a) => (asked.push(`claims ${a}`), mailboxes.claims(a)), refusal: (a) => (asked.push(`refusal ${a}`), mailboxes.refusal(a)) };
    let planned: Accepted['plan'] | undefined;
    const store: MessageStore = { keptElsewhere: true, store: async (accepted) => ((planned = accepted.plan), []) };
    const t = await startTestServer(new SievePolicy({ scripts: {}, runtimeError: 'fail' }), { services: { store, userMaildirs: watched } });
    cleanups.push(() => t.close());
    const r = await sendMail(await t.client(), 'a@sender.test', ['nobody@here.test'], MESSAGE);
    expect([r.rcpts[0]?.code, r.end?.code]).toEqual([250, 250]);
    expect(asked).toEqual([]);
    expect(planned?.stores).toEqual([{ folder: 'INBOX', recipients: ['nobody@here.test'] }]);
    expect(planned?.maildirs).toBeUndefined();
    // The same module, where smtp-cbv delivers, refuses that recipient at RCPT TO.
    expect(await mailboxes.refusal('nobody@here.test')).toEqual({ code: 550, enhanced: '5.1.1', text: '<nobody@here.test>: mailbox unavailable' });
  });
});
