/**
 * Mailboxes as a served script sees them (docs/configuration.md, `Mailbox`):
 * special-use flags and annotations from the configuration, folders from the
 * local spool, answered through a real SMTP session and read again on
 * reload (what SIGHUP does). The script writes each answer into a header,
 * so the stored message shows what it saw.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startConfig, writeConfig } from '../helpers/config-server.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-mailboxes-'));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await rm(dir, { recursive: true, force: true });
});

const MAILBOXES = [
  'server_metadata = [ "/shared/admin" = "mailto:postmaster@example.com" ]',
  'Mailbox "Junk" { special_use = ( "\\\\Junk" ) metadata = [ "/shared/comment" = "Spam is filed here" ] }',
  '',
].join('\n');

const SCRIPT = `require ["fileinto", "mailbox", "special-use", "mboxmetadata", "servermetadata", "editheader"];
if specialuse_exists "\\\\Junk" { addheader "X-Junk-Assigned" "yes"; }
if specialuse_exists "Junk" "\\\\Junk" { addheader "X-Junk-Flag" "yes"; }
if mailboxexists "Junk" { addheader "X-Exists-Junk" "yes"; }
if mailboxexists "inbox" { addheader "X-Exists-Inbox" "yes"; }
if mailboxexists "Archive" { addheader "X-Exists-Archive" "yes"; }
if metadata :contains "Junk" "/SHARED/comment" "spam" { addheader "X-Comment" "yes"; }
if metadataexists "Junk" "/shared/nothing" { addheader "X-Nothing" "yes"; }
if servermetadata "/shared/admin" "mailto:postmaster@example.com" { addheader "X-Admin" "yes"; }
if servermetadataexists "/shared/comment" { addheader "X-Server-Comment" "yes"; }
if mailboxexists "Fresh" { addheader "X-Exists-Fresh" "yes"; }
if header :contains "subject" "spam" { fileinto :specialuse "\\\\Junk" "Spam"; }
if header :contains "subject" "fresh" { fileinto "Fresh"; }
`;

/** Sends one message; returns the folder it was stored in and the answers the script wrote. */
async function send(port: number, subject: string): Promise<{ folder: string; answers: string[] }> {
  const spool = join(dir, 'spool');
  const folders = async () => ['', ...(await readdir(spool)).filter((n) => n.startsWith('.'))];
  const count = async (f: string) => (await readdir(join(spool, f, 'new')).catch(() => [])).length;
  const before = new Map<string, number>();
  for (const f of await folders().catch(() => [''])) before.set(f, await count(f));
  const c = await RawSmtpClient.open(port);
  const r = await sendMail(c, 'a@sender.test', ['bob@here.test'], `From: a@sender.test\r\nSubject: ${subject}\r\n\r\nhello\r\n`);
  c.close();
  expect(r.end?.code).toBe(250);
  for (const f of await folders()) {
    if ((await count(f)) === (before.get(f) ?? 0)) continue;
    const names = await readdir(join(spool, f, 'new'));
    const newest = names.sort().at(-1)!;
    const text = await readFile(join(spool, f, 'new', newest), 'utf8');
    const answers = [...text.matchAll(/^X-([A-Za-z-]+): yes$/gm)].map((m) => m[1]!).sort();
    return { folder: f || 'INBOX', answers };
  }
  throw new Error('nothing stored');
}

describe('Mailbox scopes served to scripts (RFC 5490, RFC 8579)', () => {
  it('file by special-use into the configured Junk folder and read its annotations and the server\'s', async () => {
    const running = await startConfig(await writeConfig(dir, { data_phase1: SCRIPT }, MAILBOXES), cleanups);
    const port = running.addresses[0]!.port;
    // Junk is declared, so it exists before any message made its folder; Archive does not.
    expect(await send(port, 'spam offer')).toEqual({ folder: '.Junk', answers: ['Admin', 'Comment', 'Exists-Inbox', 'Exists-Junk', 'Junk-Assigned', 'Junk-Flag'] });
    expect(await send(port, 'hello')).toEqual({ folder: 'INBOX', answers: ['Admin', 'Comment', 'Exists-Inbox', 'Exists-Junk', 'Junk-Assigned', 'Junk-Flag'] });
  });

  it('file into a folder that does not exist by creating it, after which it exists', async () => {
    const running = await startConfig(await writeConfig(dir, { data_phase1: SCRIPT }, MAILBOXES), cleanups);
    const port = running.addresses[0]!.port;
    const first = await send(port, 'fresh news');
    expect(first.folder).toBe('.Fresh');
    expect(first.answers).not.toContain('Exists-Fresh');
    expect((await send(port, 'hello')).answers).toContain('Exists-Fresh');
  });

  it('count a folder that exists in the spool, and a reload changes the answers', async () => {
    const conf = await writeConfig(dir, { data_phase1: SCRIPT }, MAILBOXES);
    const running = await startConfig(conf, cleanups);
    const port = running.addresses[0]!.port;
    await mkdir(join(dir, 'spool', '.Archive', 'new'), { recursive: true });
    expect((await send(port, 'hello')).answers).toContain('Exists-Archive');

    // The flag moves to Quarantine and the annotations go: the reloaded policy answers from the new file.
    const text = (await readFile(conf, 'utf8')).replace(MAILBOXES, 'Mailbox "Quarantine" { special_use = \\Junk }\n');
    await writeFile(conf, text);
    expect((await running.reload()).filter((d) => d.severity === 'error')).toEqual([]);
    const after = await send(port, 'spam offer');
    expect(after.folder).toBe('.Quarantine');
    // Junk is no longer declared and has no folder yet: it does not exist.
    expect(after.answers).toEqual(['Exists-Archive', 'Exists-Inbox', 'Junk-Assigned']);
  });
});
