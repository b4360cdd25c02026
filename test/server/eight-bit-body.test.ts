/**
 * An 8-bit body in a charset other than UTF-8 (RFC 6152 8BITMIME) is
 * stored octet for octet, also when a script edits the header; so is a
 * header field with raw 8-bit octets (not allowed by RFC 5322, sent by old
 * mailers) when a script adds another.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startConfig, writeConfig } from '../helpers/config-server.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';

const testDir = tempDirPerTest('smtp-cbv-eight-bit-');
const cleanups: Array<() => Promise<unknown>> = [];
// Registered after tempDirPerTest's, so it runs first: the servers stop before their directory goes.
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

// "Grüße, café" in ISO-8859-1: 0xFC, 0xDF and 0xE9 are not UTF-8 on their own.
const head = 'From: a@sender.test\r\nDate: Thu, 3 Dec 2026 10:00:00 +0000\r\nSubject: latin-1\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n';
const body = Buffer.from('Gr\xfc\xdfe, caf\xe9\r\n', 'latin1');

async function send(scripts: Parameters<typeof writeConfig>[1], header = Buffer.from(head)): Promise<Buffer> {
  const dir = testDir();
  const server = await startConfig(await writeConfig(dir, scripts), cleanups);
  const c = await RawSmtpClient.open(server.addresses[0]!.port);
  cleanups.push(async () => c.close());
  await c.reply();
  await c.command('EHLO client.test');
  expect((await c.command('MAIL FROM:<a@sender.test> BODY=8BITMIME')).code).toBe(250);
  expect((await c.command('RCPT TO:<b@here.test>')).code).toBe(250);
  expect((await c.command('DATA')).code).toBe(354);
  c.write(Buffer.concat([header, Buffer.from('\r\n'), body, Buffer.from('.\r\n')]));
  expect((await c.reply()).code).toBe(250);
  const [file] = await readdir(join(dir, 'spool', 'new'));
  return readFile(join(dir, 'spool', 'new', file!));
}

const bodyOf = (stored: Buffer) => stored.subarray(stored.indexOf('\r\n\r\n') + 4);

describe('an 8-bit body in ISO-8859-1', () => {
  it('is stored as sent', async () => {
    expect(bodyOf(await send({})).equals(body)).toBe(true);
  });

  it('is stored as sent when a script adds a header field', async () => {
    const stored = await send({ data_phase1: 'ec_header_add "X-Checked" "yes";\n' });
    expect(stored.toString('latin1')).toContain('X-Checked: yes\r\n');
    expect(bodyOf(stored).equals(body)).toBe(true);
  });

  it('is stored as sent when editheader deletes a field', async () => {
    const stored = await send({ data_phase1: 'require "editheader";\ndeleteheader "Subject";\n' });
    expect(stored.toString('latin1')).not.toContain('Subject: latin-1');
    expect(bodyOf(stored).equals(body)).toBe(true);
  });

  it('a Subject in raw ISO-8859-1 octets is stored as sent when a script adds a header field', async () => {
    const header = Buffer.from(head.replace('Subject: latin-1', 'Subject: caf\xe9'), 'latin1');
    const stored = await send({ data_phase1: 'ec_header_add "X-Checked" "yes";\n' }, header);
    expect(stored.includes(Buffer.from('\r\nSubject: caf\xe9\r\n', 'latin1'))).toBe(true);
    expect(bodyOf(stored).equals(body)).toBe(true);
  });
});
