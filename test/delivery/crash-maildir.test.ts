/**
 * kill -9 while messages arrive into the local Maildir: the real server
 * process (bin/smtp-cbv.js, as `npm test` builds it) is killed with
 * SIGKILL at random moments and started again, for the two ways a message
 * is stored (docs/server.md, "The spool"):
 *   - small messages, held in memory, written by the spool writer's thread;
 *   - messages past `message_spool_threshold`, which go to a spool file as
 *     they arrive ("Messages on disk") and are copied from the event loop.
 * In the end every message that got its 250 is in the Maildir whole, byte
 * for byte, with its envelope record, no spool file of a message in
 * transfer is left in tmp/, and start-up has left only records of messages
 * that are there. The spool starts with a message written before the
 * envelope journal (its envelope in a file of its own), which must survive
 * the kills with its envelope.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../../src/delivery/envelope-journal.js';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import { freePort } from '../helpers/free-port.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';
import { listening, startServe } from '../helpers/serve-process.js';

const root = join(import.meta.dirname, '..', '..');
const built = existsSync(join(root, 'dist', 'src', 'frontdoors', 'incoming-message.js'));
const KILLS = 3;

/** A message that names itself in its Subject and in every line: of about 200 KiB (spooled as it arrives) or one line. */
function message(token: string, lines: number): string {
  const body = Array.from({ length: lines }, (_, i) => `${token} line ${i} ${'y'.repeat(i % 60)}`);
  return `From: a@sender.test\r\nSubject: crash ${token}\r\n\r\n${body.join('\r\n')}\r\n`;
}

for (const { name, lines } of [
  { name: 'small messages (the spool writer thread)', lines: 1 },
  { name: 'messages spooled as they arrive', lines: 2500 },
]) {
  describe(`kill -9 while ${name} arrive`, () => {
    let dir: string;
    let port: number;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-crash-maildir-'));
      port = await freePort();
      await writeFile(
        join(dir, 'server.conf'),
        ['spool_dir = "spool"', `ESMTP_Listener { Listen "127.0.0.1:${port}" { } hostname = "mx.test" max_message_size = 2m message_spool_threshold = 16k }`, 'logging { level = "warn" }', ''].join('\n'),
      );
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    /** A message and its envelope file as the spool held them before the journal. */
    const OLD = '1700000000.M1P1Q1.old.test';
    const oldEnvelope = { mailFrom: 'old@sender.test', recipients: ['bob@mx.test'], client: { address: '127.0.0.1' }, receivedAt: '2023-11-14T22:13:20.000Z', folder: 'INBOX' };
    beforeAll(async () => {
      for (const sub of ['new', 'envelopes']) await mkdir(join(dir, 'spool', sub), { recursive: true });
      await writeFile(join(dir, 'spool', 'new', OLD), 'Subject: before the journal\r\n\r\nold\r\n');
      await writeFile(join(dir, 'spool', 'envelopes', `${OLD}.json`), `${JSON.stringify(oldEnvelope, null, 2)}\n`);
    });

    const startServer = (): ChildProcess => startServe(join(dir, 'server.conf'));

    /** One client sending messages until the server goes away; records the tokens that got 250. */
    async function client(tag: string, accepted: Map<string, string>): Promise<void> {
      for (let n = 0; ; n++) {
        const token = `${tag}-${n}`;
        const c = await RawSmtpClient.open(port).catch(() => null);
        if (!c) return;
        try {
          const text = message(token, lines);
          const r = await sendMail(c, 'a@sender.test', ['bob@mx.test'], text);
          if (r.end?.code === 250) accepted.set(token, text);
        } catch {
          return;
        } finally {
          c.close();
        }
      }
    }

    it.skipIf(!built)(`loses no accepted message over ${KILLS} kills and leaves no spool file behind`, async () => {
      const accepted = new Map<string, string>();
      for (let round = 0; round <= KILLS; round++) {
        const server = startServer();
        const exited = new Promise((r) => server.once('exit', r));
        await listening(server, port);
        if (round === KILLS) {
          // A last start, left alone: start-up has emptied tmp/ of what the kills left.
          expect((await readdir(join(dir, 'spool', 'tmp'))).filter((n) => n.startsWith('incoming.'))).toEqual([]);
          server.kill('SIGTERM');
          await exited;
          break;
        }
        const clients = Array.from({ length: 3 }, (_, i) => client(`r${round}c${i}`, accepted));
        await new Promise((r) => setTimeout(r, 200 + Math.random() * 600));
        server.kill('SIGKILL');
        await exited;
        await Promise.all(clients);
      }
      const stored = new Map<string, string>();
      const spool = new MaildirSpool(join(dir, 'spool'));
      const envelopes = await spool.envelopes();
      for (const name of await readdir(join(dir, 'spool', 'new'))) {
        const text = await readFile(join(dir, 'spool', 'new', name), 'utf8');
        const token = /Subject: crash (\S+)/.exec(text)?.[1];
        const envelope = envelopes.get(name);
        if (token && envelope?.mailFrom === 'a@sender.test' && envelope.recipients.join() === 'bob@mx.test') stored.set(token, text.slice(text.indexOf('From: a@sender.test')));
      }
      expect(accepted.size).toBeGreaterThan(KILLS);
      for (const [token, text] of accepted) expect(stored.get(token) === text, `message ${token} was accepted but is not stored whole with its envelope`).toBe(true);
      expect(envelopes.get(OLD)).toEqual({ id: OLD, ...oldEnvelope });
      // The last start compacted the journals: one file, no envelope files, and a record only for a message that is there.
      const files = await readdir(join(dir, 'spool', 'envelopes'));
      expect(files.filter((n) => n.endsWith('.json'))).toEqual([]);
      expect(files).toHaveLength(1);
      expect((await readRecords(join(dir, 'spool', 'envelopes'))).records.size).toBe(envelopes.size);
    }, 90_000);
  });
}
