/**
 * A delivery sends its message from the queue entry file as a stream
 * (src/delivery/outbound.ts): whether the transaction is sent or refused
 * before a byte of the message is read, the file is closed afterwards.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileRange } from '../../src/delivery/file-range.js';
import { assertNodemailerFits, Outbound } from '../../src/delivery/outbound.js';
import { sendMessage } from '../../src/delivery/smtp-sender.js';
import { type MailSink, startMailSink } from '../helpers/mail-sink.js';

let dir: string;
let sink: MailSink;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-outbound-'));
  sink = await startMailSink();
});
afterEach(async () => {
  await sink.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Descriptors of this process open on `path`. */
function openOn(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

const options = { lmtp: false, tls: 'no' as const, helo: 'relay.test', connectTimeoutMs: 2000, responseTimeoutMs: 2000 };

describe('a message sent from its entry file', () => {
  it('is sent whole from its place in the file, and the file is closed after', async () => {
    const path = join(dir, 'entry');
    const message = 'Subject: from the file\r\n\r\n.dot-led line\r\nbody\r\n';
    await writeFile(path, `{"header": "line"}\n${message}{"t":"r"}\n`);
    const conn = new Outbound('k', { name: '127.0.0.1', address: '127.0.0.1', port: sink.port }, options);
    expect(await conn.connect()).toBeNull();
    const r = await conn.send('a@sender.test', ['b@dest.test'], new FileRange(path, 19, Buffer.byteLength(message)));
    expect(r.err).toBeNull();
    expect(sink.messages[0]!.data).toBe(message);
    conn.close();
    await expect.poll(() => openOn(path)).toBe(0);
  });

  it('closes the file when the connection was gone before the message was read', async () => {
    const path = join(dir, 'entry');
    await writeFile(path, 'Subject: x\r\n\r\nbody\r\n');
    const conn = new Outbound('k', { name: '127.0.0.1', address: '127.0.0.1', port: sink.port }, options);
    expect(await conn.connect()).toBeNull();
    conn.close();
    const r = await conn.send('a@sender.test', ['b@dest.test'], new FileRange(path, 0, 20));
    expect(r.err).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(openOn(path)).toBe(0);
  });
});

describe('an 8-bit message (RFC 6152)', () => {
  it('the installed nodemailer tells which extensions the next hop offered, as outbound.ts reads them', () => {
    expect(() => assertNodemailerFits()).not.toThrow();
  });

  it('goes with BODY=8BITMIME to a next hop that offers 8BITMIME, octet for octet', async () => {
    // "Grüße" in ISO-8859-1: octets past US-ASCII, and not UTF-8.
    const message = Buffer.concat([Buffer.from('Subject: 8-bit\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'), Buffer.from('Gr\xfc\xdfe\r\n', 'latin1')]);
    const conn = new Outbound('k', { name: '127.0.0.1', address: '127.0.0.1', port: sink.port }, options);
    expect(await conn.connect()).toBeNull();
    expect((await conn.send('a@sender.test', ['b@dest.test'], message)).err).toBeNull();
    expect(sink.messages[0]!.mailParams).toEqual({ BODY: '8BITMIME' });
    expect(sink.messages[0]!.octets.equals(message)).toBe(true);
    conn.close();
  });

  it('goes in 7 bits to a next hop that does not offer 8BITMIME, from its queue file too: quoted-printable, the same text once decoded', async () => {
    const seven = await startMailSink({ no8BitMime: true });
    try {
      const message = Buffer.concat([Buffer.from('Subject: 8-bit\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'), Buffer.from('Gr\xfc\xdfe\r\n', 'latin1')]);
      const path = join(dir, 'entry');
      await writeFile(path, Buffer.concat([Buffer.from('HEADER\n'), message]));
      const conn = new Outbound('k', { name: '127.0.0.1', address: '127.0.0.1', port: seven.port }, options);
      expect(await conn.connect()).toBeNull();
      expect((await conn.send('a@sender.test', ['b@dest.test'], message)).err).toBeNull();
      expect((await conn.send('a@sender.test', ['b@dest.test'], new FileRange(path, 7, message.length))).err).toBeNull();
      conn.close();
      for (const got of seven.messages) {
        expect(got.mailParams).toEqual({});
        expect(got.octets.toString('latin1')).toBe('Subject: 8-bit\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\nGr=FC=DFe\r\n');
      }
      expect(seven.messages).toHaveLength(2);
    } finally {
      await seven.stop();
    }
  });

  it('is returned at once, 554 5.6.3, when it cannot be put in 7 bits: a header section past 1 MB, which no later attempt splits either', async () => {
    const seven = await startMailSink({ no8BitMime: true });
    try {
      const message = Buffer.from(`Subject: long\r\n${'X-F: 0123456789abcdefghijklmnopqrstuvwxyz\r\n'.repeat(30_000)}\r\nhi\r\n`);
      const target = { name: '127.0.0.1', address: '127.0.0.1', port: seven.port };
      const results = await sendMessage([target], 'a@sender.test', ['b@dest.test', 'c@dest.test'], message, options);
      expect(results.map((r) => [r.recipient, r.outcome, r.reply.code, r.reply.enhanced])).toEqual([
        ['b@dest.test', 'failed', 554, '5.6.3'],
        ['c@dest.test', 'failed', 554, '5.6.3'],
      ]);
      expect(results[0]!.reply.text).toMatch(/^the message could not be converted to 7 bits for a next hop without 8BITMIME: Max header size/);
      expect(seven.messages).toHaveLength(0);
    } finally {
      await seven.stop();
    }
  });
});
