/*
 * Journal first (maildir.ts; docs/server.md, "The spool"): a small message's
 * record carries its octets and is durable before the client hears 250; the
 * message's file is written without syncs, made durable by a checkpoint a
 * second later, and restored from the journal at start-up after a reboot.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import { SpoolWriter } from '../../src/delivery/spool-writer.js';
import { records } from '../helpers/journal-records.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'journal-first-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const dist = join(import.meta.dirname, '..', '..', 'dist', 'src', 'delivery');
const built = existsSync(join(dist, 'maildir.js'));

const envelope = { mailFrom: 'a@example.com', recipients: ['b@example.net'], client: { address: '127.0.0.1' }, receivedAt: '2026-01-01T00:00:00.000Z' };
const thisBoot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

async function journalLines(spoolDir: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (const name of (await readdir(join(spoolDir, 'envelopes'))).sort()) {
    for (const line of records(await readFile(join(spoolDir, 'envelopes', name), 'utf8'))) out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

/** A journal of `boot` written by hand, as a server that died left it; a mark covers the records before `mark`'s place. */
async function writeJournal(spoolDir: string, boot: string, lines: Array<Record<string, unknown> | 'mark'>): Promise<void> {
  const name = '1700000000000.P999999999.Rabcdef012345.journal';
  let text = `${JSON.stringify({ boot })}\n`;
  for (const l of lines) text += l === 'mark' ? `${JSON.stringify({ checkpoint: Buffer.byteLength(text), file: name })}\n` : `${JSON.stringify(l)}\n`;
  await writeFile(join(spoolDir, 'envelopes', name), text);
}

const record = (id: string, body: string, folder = 'INBOX') => ({ id, ...envelope, folder, octets: Buffer.from(body).toString('base64') });

describe('journal first', () => {
  it('makes the file durable at a checkpoint, marks the journal, and compaction then drops the octets', async () => {
    const writer = new SpoolWriter({ journalLimit: 1 << 20 });
    const spool = new MaildirSpool(join(dir, 'spool'), writer);
    await spool.init();
    const m = await spool.deliver('INBOX', Buffer.from('Subject: one\r\n\r\nbody\r\n'), envelope);
    expect(await readFile(m.path, 'utf8')).toBe('Subject: one\r\n\r\nbody\r\n');
    const before = await journalLines(spool.dir);
    expect(before[0]).toEqual({ boot: thisBoot });
    expect(before[1]).toMatchObject({ id: m.id, octets: Buffer.from('Subject: one\r\n\r\nbody\r\n').toString('base64') });
    expect(before.some((l) => 'checkpoint' in l)).toBe(false);

    await writer.checkpoint(spool.envelopeDir);
    const mark = (await journalLines(spool.dir)).find((l) => 'checkpoint' in l);
    // The mark covers the record: its offset is past the record's start, in the file it names.
    const [journal] = await readdir(spool.envelopeDir);
    expect(mark).toEqual({ checkpoint: expect.any(Number), file: journal });
    expect(mark!.checkpoint).toBeGreaterThan(Buffer.byteLength(`${JSON.stringify({ boot: thisBoot })}\n`));

    // Start-up (same boot): the octets are dropped, the envelope kept, nothing restored.
    expect(await spool.recover()).toEqual({ removedTmp: 0, removedEnvelopes: 0, restored: 0 });
    const after = await journalLines(spool.dir);
    expect(after).toEqual([{ id: m.id, ...envelope, folder: 'INBOX' }]);
    expect(await spool.envelopes()).toEqual(new Map([[m.id, { id: m.id, ...envelope, folder: 'INBOX' }]]));
  });

  it('commits records into zeros written ahead of them, so that a commit does not change the file\'s size; a journal closed past its size ends with its last record', async () => {
    // A commit that grows the file must make its inode durable too, with whatever else changed meanwhile;
    // one into blocks already written does not (journal-append-thread.ts).
    const writer = new SpoolWriter({ journalLimit: 1 << 30 });
    const spool = new MaildirSpool(join(dir, 'spool'), writer);
    await spool.init();
    await spool.deliver('INBOX', Buffer.from('one'), envelope);
    const [name] = await readdir(spool.envelopeDir);
    const file = join(spool.envelopeDir, name!);
    const first = await readFile(file);
    const used = first.indexOf(0);
    expect(used).toBeGreaterThan(0);
    expect(first[used - 1]).toBe(0x0a);
    expect(first.subarray(used).every((b) => b === 0)).toBe(true);
    for (const body of ['two', 'three']) await spool.deliver('INBOX', Buffer.from(body), envelope);
    expect((await stat(file)).size).toBe(first.length);
    expect(records(await readFile(file, 'utf8'))).toHaveLength(4);

    // Past its size (every commit here), a journal is closed and cut to its records.
    const rolling = new SpoolWriter({ journalLimit: 1 });
    const other = new MaildirSpool(join(dir, 'other'), rolling);
    rolling.onRoll(other.envelopeDir, () => undefined);
    await other.init();
    await other.deliver('INBOX', Buffer.from('one'), envelope);
    const [closed] = await readdir(other.envelopeDir);
    const text = await readFile(join(other.envelopeDir, closed!));
    expect(text.includes(0)).toBe(false);
    expect(records(text.toString('utf8'))).toHaveLength(2);
    expect(text[text.length - 1]).toBe(0x0a);
  });

  it.skipIf(!built)('cuts a commit that failed off the journal: its messages were refused, and a reboot must not bring them back', () => {
    // The journal's file may not grow past 1.25 MiB (RLIMIT_FSIZE, in a process of its own): once half of the
    // zeros ahead are used, the commit that writes the next ones fails with EFBIG after its record went in.
    const spoolDir = join(dir, 'spool');
    const script = `
      const { MaildirSpool } = await import(${JSON.stringify(join(dist, 'maildir.js'))});
      const { SpoolWriter } = await import(${JSON.stringify(join(dist, 'spool-writer.js'))});
      const spool = new MaildirSpool(${JSON.stringify(spoolDir)}, new SpoolWriter({ journalLimit: 1 << 30 }));
      await spool.init();
      const acked = [];
      let failed;
      for (let i = 0; i < 40 && !failed; i++) {
        await spool.deliver('INBOX', Buffer.alloc(60000, 97 + (i % 26)), ${JSON.stringify(envelope)}).then((m) => acked.push(m.id), (e) => (failed = e.code));
      }
      console.log(JSON.stringify({ acked, failed }));
      process.exit(0);`;
    const child = spawnSync('prlimit', [`--fsize=${1.25 * (1 << 20)}`, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    const { acked, failed } = JSON.parse(child.stdout) as { acked: string[]; failed?: string };
    expect(failed).toBe('EFBIG');
    expect(acked.length).toBeGreaterThan(2);
    const journals = readdirSync(join(spoolDir, 'envelopes'));
    expect(journals).toHaveLength(1);
    const text = readFileSync(join(spoolDir, 'envelopes', journals[0]!), 'utf8');
    const ids = records(text).map((l) => (JSON.parse(l) as { id?: string }).id).filter((id) => id !== undefined);
    expect(ids).toEqual(acked);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('compaction while running drops the octets of the messages it keeps, and the records of those gone', async () => {
    const writer = new SpoolWriter({ journalLimit: 1 });
    const spool = new MaildirSpool(join(dir, 'spool'), writer);
    writer.onRoll(spool.envelopeDir, () => undefined);
    await spool.init();
    const kept = await spool.deliver('Lists/A', Buffer.from('kept'), envelope);
    const gone = await spool.deliver('INBOX', Buffer.from('gone'), envelope);
    await spool.remove([gone]);
    const r = await spool.compactJournals();
    expect(r).toMatchObject({ kept: 1, dropped: 1 });
    expect((await journalLines(spool.dir)).filter((l) => 'id' in l)).toEqual([{ id: kept.id, ...envelope, folder: 'Lists/A' }]);
  });

  it('after a reboot, start-up writes again the files no checkpoint covered: missing, or holding less than their octets', async () => {
    const spool = new MaildirSpool(join(dir, 'spool'));
    await spool.init();
    await mkdir(join(spool.dir, 'cur'), { recursive: true });
    // covered: a mark after it, so its file was durable; it is gone because a reader deleted it.
    // lost: after the mark, its file gone with the power; torn: its file in cur/ (a reader had seen it) holds part of it;
    // whole: on disk as written; folder: in a Maildir++ folder that was lost too.
    await writeJournal(spool.dir, 'an-earlier-boot', [record('covered', 'covered body'), 'mark', record('lost', 'lost body'), record('torn', 'torn body, whole'), record('whole', 'whole body'), record('folder', 'folder body', 'Lists/B')]);
    await writeFile(join(spool.dir, 'cur', 'torn:2,S'), 'torn bo');
    await writeFile(join(spool.dir, 'new', 'whole'), 'whole body');
    const wholeInode = (await stat(join(spool.dir, 'new', 'whole'))).ino;

    expect(await spool.recover()).toEqual({ removedTmp: 0, removedEnvelopes: 1, restored: 3 });
    expect(await readFile(join(spool.dir, 'new', 'lost'), 'utf8')).toBe('lost body');
    expect(await readFile(join(spool.dir, 'cur', 'torn:2,S'), 'utf8')).toBe('torn body, whole');
    expect(await readFile(join(spool.dir, '.Lists.B', 'new', 'folder'), 'utf8')).toBe('folder body');
    expect((await stat(join(spool.dir, 'new', 'whole'))).ino).toBe(wholeInode);
    expect(await readdir(join(spool.dir, 'new'))).not.toContain('covered');
    expect([...(await spool.envelopes()).keys()].sort()).toEqual(['folder', 'lost', 'torn', 'whole']);
    // The journal no longer carries octets, nor the boot and the mark.
    expect((await journalLines(spool.dir)).every((l) => typeof l.id === 'string' && !('octets' in l))).toBe(true);
    expect(await readdir(join(spool.dir, 'tmp'))).toEqual([]);
  });

  it('after a reboot, a record that cannot be written back does not stop the start, and keeps its octets', async () => {
    const spool = new MaildirSpool(join(dir, 'spool'));
    await spool.init();
    await writeJournal(spool.dir, 'an-earlier-boot', [record('odd', 'odd body', '../outside'), record('fine', 'fine body')]);
    const r = await spool.recover();
    expect(r).toMatchObject({ restored: 1, restoreFailed: [{ id: 'odd', error: expect.stringMatching(/invalid folder name/) }] });
    expect(await readFile(join(spool.dir, 'new', 'fine'), 'utf8')).toBe('fine body');
    // The record not written back stays, with its octets, for the next start to try again.
    const lines = await journalLines(spool.dir);
    expect(lines.find((l) => l.id === 'odd')).toHaveProperty('octets');
    expect(lines.find((l) => l.id === 'fine')).toHaveProperty('octets');
  });

  it('in the same boot (only the process died), a message gone from the spool stays gone', async () => {
    const spool = new MaildirSpool(join(dir, 'spool'));
    await spool.init();
    await writeJournal(spool.dir, thisBoot, [record('deleted', 'read and deleted by a reader'), record('there', 'there')]);
    await writeFile(join(spool.dir, 'new', 'there'), 'there');
    expect(await spool.recover()).toEqual({ removedTmp: 0, removedEnvelopes: 1, restored: 0 });
    expect(await readdir(join(spool.dir, 'new'))).toEqual(['there']);
    expect(await journalLines(spool.dir)).toEqual([{ id: 'there', ...envelope, folder: 'INBOX' }]);
  });

  it('runs every checkpoint\'s sync from one long-lived shell, not from a fork of the server each time', async () => {
    // A sync command that says which process started it, then syncs.
    const syncer = join(dir, 'syncer.sh');
    await writeFile(syncer, `#!/bin/sh\necho "$PPID" >> '${join(dir, 'parents')}'\nexec sync "$@"\n`, { mode: 0o755 });
    const writer = new SpoolWriter({ journalLimit: 1 << 20, syncCommand: syncer });
    const spool = new MaildirSpool(join(dir, 'spool'), writer);
    await spool.init();
    for (const body of ['one', 'two', 'three']) {
      await spool.deliver('INBOX', Buffer.from(body), envelope);
      await writer.checkpoint(spool.envelopeDir);
    }
    const parents = (await readFile(join(dir, 'parents'), 'utf8')).trim().split('\n');
    expect(parents).toHaveLength(3);
    expect(new Set(parents).size).toBe(1);
    expect(Number(parents[0])).not.toBe(process.pid);
    expect((await journalLines(spool.dir)).filter((l) => 'checkpoint' in l)).toHaveLength(3);

    // A shell that ended between checkpoints (killed by hand, say) is started again at the next one.
    // Killed just before the checkpoint asks it: the question goes to the next shell.
    process.kill(Number(parents[0]), 'SIGKILL');
    await spool.deliver('INBOX', Buffer.from('four'), envelope);
    await writer.checkpoint(spool.envelopeDir);
    const after = (await readFile(join(dir, 'parents'), 'utf8')).trim().split('\n');
    expect(after).toHaveLength(4);
    expect(after[3]).not.toBe(parents[0]);
  });

  it('without checkpoints (the sync command fails) writes the durable way, and keeps the octets it has', async () => {
    const writer = new SpoolWriter({ journalLimit: 1 << 20, syncCommand: 'false' });
    const spool = new MaildirSpool(join(dir, 'spool'), writer);
    await spool.init();
    const failures: string[] = [];
    writer.onCheckpointFailure((m) => failures.push(m));
    const first = await spool.deliver('INBOX', Buffer.from('first'), envelope);
    await expect(writer.checkpoint(spool.envelopeDir)).rejects.toThrow(/sync -f/);
    await expect(writer.checkpoint(spool.envelopeDir)).rejects.toThrow(/sync -f/);
    // Said once, for the operator's log.
    expect(failures).toEqual([expect.stringMatching(/sync -f .* ended with 1/)]);
    const second = await spool.deliver('INBOX', Buffer.from('second'), envelope);
    const records = (await journalLines(spool.dir)).filter((l) => 'id' in l);
    expect(records.find((l) => l.id === first.id)).toHaveProperty('octets');
    expect(records.find((l) => l.id === second.id)).not.toHaveProperty('octets');
    expect(await readFile(second.path, 'utf8')).toBe('second');
  });
});
