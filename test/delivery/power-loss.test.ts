/**
 * A power loss after journal-first writes (docs/server.md, "The spool"):
 * the real server (bin/smtp-cbv.js) accepts small messages and is killed
 * with SIGKILL before its first checkpoint; then the machine "reboots": the
 * journals are given another boot id (of the same length, so that the
 * checkpoint offsets stay right), and of the message files no checkpoint
 * covered, some are removed and some cut short, as a power loss can leave
 * files written without syncs. Started again, the server writes them back
 * from the journal: every message that got its 250 is in the Maildir
 * whole, with its envelope, and the journal no longer carries octets.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import { freePort } from '../helpers/free-port.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';
import { listening, startServe } from '../helpers/serve-process.js';

const root = join(import.meta.dirname, '..', '..');
const built = existsSync(join(root, 'dist', 'src', 'delivery', 'journal-restore.js'));
const ANOTHER_BOOT = '00000000-0000-0000-0000-000000000000';

let dir: string;
let port: number;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-power-loss-'));
  port = await freePort();
  await writeFile(join(dir, 'server.conf'), ['spool_dir = "spool"', `ESMTP_Listener { Listen "127.0.0.1:${port}" { } hostname = "mx.test" }`, 'logging { level = "warn" }', ''].join('\n'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const startServer = (): ChildProcess => startServe(join(dir, 'server.conf'));

/** Journal-first records no checkpoint covered, by journal file: their message names. */
async function unsynced(envelopes: string): Promise<string[]> {
  const ids: string[] = [];
  for (const name of await readdir(envelopes)) {
    const text = await readFile(join(envelopes, name));
    let covered = 0;
    const records: Array<{ id: string; offset: number }> = [];
    for (let start = 0, end = text.indexOf(10); end >= 0; start = end + 1, end = text.indexOf(10, start)) {
      const r = JSON.parse(text.toString('utf8', start, end)) as { id?: string; octets?: string; checkpoint?: number; file?: string };
      if (r.checkpoint !== undefined && r.file === name) covered = Math.max(covered, r.checkpoint);
      if (r.id && r.octets) records.push({ id: r.id, offset: start });
    }
    ids.push(...records.filter((r) => r.offset >= covered).map((r) => r.id));
  }
  return ids;
}

it.skipIf(!built)('after a power loss, start-up writes back from the journal every accepted message its files lost', async () => {
  const accepted = new Map<string, string>();
  let server = startServer();
  let exited = new Promise((r) => server.once('exit', r));
  await listening(server, port);
  const clients = Array.from({ length: 3 }, async (_, i) => {
    for (let n = 0; ; n++) {
      const c = await RawSmtpClient.open(port).catch(() => null);
      if (!c) return;
      const token = `c${i}-${n}`;
      const text = `From: a@sender.test\r\nSubject: power ${token}\r\n\r\n${token} body\r\n`;
      try {
        if ((await sendMail(c, 'a@sender.test', ['bob@mx.test'], text)).end?.code === 250) accepted.set(token, text);
      } catch {
        return;
      } finally {
        c.close();
      }
    }
  });
  // Killed as soon as four messages have their 250: well before the first
  // checkpoint, a second after the first write, so no mark covers them. (A
  // fixed wait found none accepted yet on a loaded machine.)
  for (const until = Date.now() + 30_000; accepted.size < 4 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 2));
  server.kill('SIGKILL');
  await exited;
  await Promise.all(clients);
  expect(accepted.size).toBeGreaterThan(3);

  // The "power loss": another boot, and the unsynced files gone or cut short, alternately.
  const spoolDir = join(dir, 'spool');
  const envelopes = join(spoolDir, 'envelopes');
  const lost = await unsynced(envelopes);
  expect(lost.length).toBeGreaterThanOrEqual(accepted.size);
  for (const name of await readdir(envelopes)) {
    const text = await readFile(join(envelopes, name), 'utf8');
    await writeFile(join(envelopes, name), text.replace(/^\{"boot":"[0-9a-f-]{36}"\}/, `{"boot":"${ANOTHER_BOOT}"}`));
  }
  let i = 0;
  for (const id of lost) {
    const file = join(spoolDir, 'new', id);
    if (!existsSync(file)) continue;
    if (i++ % 2) await unlink(file);
    else await truncate(file, 10);
  }

  server = startServer();
  exited = new Promise((r) => server.once('exit', r));
  await listening(server, port);
  server.kill('SIGTERM');
  await exited;

  const stored = new Map<string, string>();
  const kept = await new MaildirSpool(spoolDir).envelopes();
  for (const name of await readdir(join(spoolDir, 'new'))) {
    const text = await readFile(join(spoolDir, 'new', name), 'utf8');
    const token = /Subject: power (\S+)/.exec(text)?.[1];
    if (token && kept.get(name)?.recipients.join() === 'bob@mx.test') stored.set(token, text.slice(text.indexOf('From: a@sender.test')));
  }
  for (const [token, text] of accepted) expect(stored.get(token) === text, `message ${token} was accepted but is not stored whole with its envelope`).toBe(true);
  // Written back durably, the journal keeps only envelopes.
  for (const name of await readdir(envelopes)) expect(await readFile(join(envelopes, name), 'utf8')).not.toContain('"octets"');
}, 60_000);
