/**
 * kill -9 at each step of the journal's compaction while running
 * (envelope-journal.ts, "While running"): a process spools messages,
 * a reader takes most away, and the process compacts its closed journals
 * and is killed by SIGKILL (by its spool writer's thread, at a named step,
 * SpoolWriterData.crashAt) after the new journal is written and synced but
 * not named, after it is named, and after the first old journal is
 * removed. Start-up (recover) then leaves every message still in the spool
 * with its envelope, and the files each crash left are what docs/server.md
 * says. The process runs tsc's output, as crash-maildir.test.ts's server does.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaildirSpool } from '../../src/delivery/maildir.js';

const root = join(import.meta.dirname, '..', '..');
const dist = join(root, 'dist', 'src', 'delivery');
const built = existsSync(join(dist, 'maildir.js'));

/** The child: 30 messages into journals of 1,500 octets, 20 taken away, then a compaction, which kills it at `crashAt`. */
const CHILD = `
const { MaildirSpool } = await import(process.env.DIST + '/maildir.js');
const { SpoolWriter } = await import(process.env.DIST + '/spool-writer.js');
const writer = new SpoolWriter({ journalLimit: 1500, crashAt: process.env.CRASH_AT });
const spool = new MaildirSpool(process.env.SPOOL, writer);
// Only the compaction below may crash: one a roll starts on its own (which now rewrites journals to drop their
// messages' octets, maildir.ts "Journal first") would crash before the reader has taken any message away.
writer.onRoll(spool.envelopeDir, () => undefined);
await spool.init();
const envelope = { mailFrom: 'a@sender.test', recipients: ['b@here.test'], client: { address: '127.0.0.1' }, receivedAt: new Date(0).toISOString() };
const delivered = [];
for (let i = 0; i < 30; i++) delivered.push(await spool.deliver('INBOX', Buffer.from('message ' + i), envelope));
await spool.remove(delivered.slice(10));
await spool.compactJournals();
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-crash-compaction-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function runChild(spoolDir: string, crashAt: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, DIST: pathToFileURL(dist).href, SPOOL: spoolDir, CRASH_AT: crashAt },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

describe.skipIf(!built)('kill -9 during the journal compaction while running', () => {
  for (const [crashAt, left] of [
    // Written and synced under a temporary name: start-up removes it; the old journals are whole.
    ['written', (names: string[]) => expect(names.some((n) => n.endsWith('.compacting'))).toBe(true)],
    // Named: the new journal and every old one, the same records twice.
    ['renamed', (names: string[]) => expect(names.filter((n) => n.endsWith('.journal')).length).toBeGreaterThan(2)],
    // One old journal removed: the others, and the new one, remain.
    ['removed', (names: string[]) => expect(names.filter((n) => n.endsWith('.journal')).length).toBeGreaterThan(1)],
  ] as const) {
    it(`after the step '${crashAt}', start-up keeps every message's envelope`, async () => {
      const spoolDir = join(dir, crashAt);
      const exit = await runChild(spoolDir, crashAt);
      expect(exit.signal).toBe('SIGKILL');
      const messages = (await readdir(join(spoolDir, 'new'))).sort();
      expect(messages).toHaveLength(10);
      left(await readdir(join(spoolDir, 'envelopes')));

      const spool = new MaildirSpool(spoolDir);
      await spool.recover();
      const names = await readdir(join(spoolDir, 'envelopes'));
      expect(names.filter((n) => !n.endsWith('.journal'))).toEqual([]);
      const envelopes = await spool.envelopes();
      expect([...envelopes.keys()].sort()).toEqual(messages);
      for (const e of envelopes.values()) expect(e).toMatchObject({ mailFrom: 'a@sender.test', recipients: ['b@here.test'], folder: 'INBOX' });
    });
  }
});
