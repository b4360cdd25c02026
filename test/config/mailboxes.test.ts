/**
 * `Mailbox` scopes and `server_metadata` (docs/configuration.md): how they
 * parse, what a mistake reports and where, and what the mailbox directory
 * built from them answers (src/policy/mailboxes.ts).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import pino from 'pino';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import { mailboxDirectory, spoolFolders } from '../../src/policy/mailboxes.js';
import { createServices } from '../../src/server/services.js';
import { partsFromConfig } from '../../src/runner/session.js';
import { isAnnotationName } from '../../src/sieve/extensions/metadata.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-mailbox-conf-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const parse = (text: string) => parseConfigText(text, 'test.conf');
const problems = (text: string) => parse(text).diagnostics.map((d) => `${d.line}:${d.column}: ${d.severity}: ${d.message}`);

describe('Mailbox scopes', () => {
  it('parse flags and annotations; INBOX is normalised and annotation names fold to lower case', () => {
    const r = parse('server_metadata = [ "/shared/Admin" = "mailto:postmaster@example.com" ]\nMailbox "Junk" { special_use = ( "\\\\Junk" ) metadata = [ "/shared/comment" = "Spam" ] }\nMailbox "inbox/Sub" { special_use = \\Archive }\nMailbox "Empty" { }\n');
    expect(r.diagnostics).toEqual([]);
    expect(r.config!.mailboxes).toEqual({
      mailboxes: [
        { name: 'Junk', specialUse: ['\\Junk'], metadata: { '/shared/comment': 'Spam' } },
        { name: 'INBOX/Sub', specialUse: ['\\Archive'], metadata: {} },
        { name: 'Empty', specialUse: [], metadata: {} },
      ],
      serverMetadata: { '/shared/admin': 'mailto:postmaster@example.com' },
    });
  });

  it('report a flag without its backslash, a bad annotation name and a bad mailbox name at the value', () => {
    expect(problems('Mailbox "Junk" { special_use = ( "Junk" ) }')).toEqual([
      '1:34: error: special_use: expected a special-use flag such as "\\\\Junk" (RFC 6154: a backslash and an atom), found \'Junk\'',
    ]);
    expect(problems('server_metadata = [ "/admin" = x ]')[0]).toMatch(/^1:21: error: server_metadata: expected an annotation name such as "\/shared\/comment" .* found '\/admin'$/);
    expect(problems('Mailbox "J" { metadata = [ "/shared/a*" = x ] }')[0]).toMatch(/^1:28: error: metadata: expected an annotation name/);
    expect(problems('Mailbox "" { }')[0]).toMatch(/^1:9: error: .*invalid folder name ''/);
    expect(problems('Mailbox "J" { metadata = [ "/shared/a" = x "/SHARED/A" = y ] }')[0]).toMatch(/duplicate key '\/SHARED\/A'/);
  });

  it('refuse a mailbox declared twice (INBOX in any case), and warn of an unknown flag or one on two mailboxes', () => {
    expect(problems('Mailbox "INBOX" { }\nMailbox "inbox" { }')).toEqual(["2:1: error: duplicate Mailbox 'inbox' (first at test.conf:1:1)"]);
    expect(problems('Mailbox "Junk" { special_use = ( "\\\\Junk" "\\\\Frob" ) }\nMailbox "Spam" { special_use = "\\\\junk" }')).toEqual([
      "1:1: warning: Mailbox \"Junk\": '\\Frob' is not one of RFC 6154's special-use flags (\\All \\Archive \\Drafts \\Flagged \\Junk \\Sent \\Trash)",
      "2:1: warning: Mailbox \"Spam\": '\\junk' is also on \"Junk\", which fileinto :specialuse chooses",
    ]);
  });

  it('take any annotation name the Sieve core takes, and no other (property)', () => {
    const part = fc.oneof(fc.constantFrom('shared', 'private', 'vendor', 'a*', '%', '', 'x y', '\u0001'), fc.string({ maxLength: 6 }));
    const name = fc.array(part, { maxLength: 4 }).map((ps) => `/${ps.join('/')}`);
    fc.assert(
      fc.property(name, (key) => {
        const quoted = key.replace(/[\\"]/g, (c) => `\\${c}`);
        if (/[\n\r]/.test(key)) return;
        const r = parse(`server_metadata = [ "${quoted}" = v ]`);
        const accepted = r.config?.mailboxes?.serverMetadata[key.toLowerCase()] === 'v';
        expect(accepted).toBe(isAnnotationName(key));
      }),
    );
  });
});

describe('the mailbox directory', () => {
  const conf = parse('server_metadata = [ "/shared/admin" = "mailto:pm@example.com" ]\nMailbox "Junk" { special_use = ( "\\\\Junk" ) metadata = [ "/shared/comment" = "c" ] }\nMailbox "Spam" { special_use = "\\\\junk" }\n').config!;

  it('answers flags and annotations without regard to case, and nothing from an object prototype', () => {
    const d = mailboxDirectory(conf.mailboxes);
    expect(d.specialUse('\\JUNK')).toEqual(['Junk', 'Spam']);
    expect(d.specialUse('\\Trash')).toEqual([]);
    expect(d.metadata('Junk', '/Shared/Comment')).toBe('c');
    expect(d.metadata('Spam', '/shared/comment')).toBeUndefined();
    expect(d.metadata('Nope', '/shared/comment')).toBeUndefined();
    expect(d.metadata(null, '/shared/admin')).toBe('mailto:pm@example.com');
    expect(d.metadata(null, '__proto__')).toBeUndefined();
    expect(d.specialUse('constructor')).toEqual([]);
  });

  it('knows INBOX in any case and the declared mailboxes; without a spool nothing else', () => {
    const d = mailboxDirectory(conf.mailboxes);
    expect([d.exists('inbox'), d.exists('INBOX'), d.exists('Junk'), d.exists('junk'), d.exists('Other')]).toEqual([true, true, true, false, false]);
  });

  it('counts a folder of the local spool, by one stat, never a name the spool refuses', async () => {
    await mkdir(join(dir, '.Lists.Announce', 'new'), { recursive: true });
    const d = mailboxDirectory(conf.mailboxes);
    const folders = spoolFolders(new MaildirSpool(dir));
    expect(await d.exists('Lists/Announce', folders)).toBe(true);
    expect(await d.exists('Lists', folders)).toBe(false);
    expect(await d.exists('../etc', folders)).toBe(false);
    expect(await d.exists('.Lists.Announce', folders)).toBe(false);
  });

  it('asks the spool only when the server files into it, not when the queue is the store (routed delivery)', async () => {
    const logger = pino({ level: 'silent' });
    const local = createServices(conf, logger, new MaildirSpool(dir));
    expect(local.folderExists).toBeDefined();
    await local.close();
    const routed = createServices(conf, logger, { store: async () => [] });
    expect(routed.folderExists).toBeUndefined();
    await routed.close();
  });

  it('is what the dry run answers from a configuration, as the server does', async () => {
    const parts = await partsFromConfig(conf);
    expect(parts.mailboxes?.specialUse('\\Junk')).toEqual(['Junk', 'Spam']);
  });
});
