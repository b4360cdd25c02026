import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import { spoolWriter } from '../../src/delivery/spool-writer.js';

let dir: string;
let spool: MaildirSpool;
const envelope = {
  mailFrom: 'alice@sender.example',
  recipients: ['bob@here.example'],
  client: { address: '127.0.0.1', helo: 'client.example' },
  receivedAt: '2026-11-24T00:00:00.000Z',
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-spool-'));
  spool = new MaildirSpool(join(dir, 'spool'));
  await spool.init();
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('MaildirSpool', () => {
  it('writes the message into new/ and its envelope beside, leaving tmp/ empty', async () => {
    const m = await spool.deliver('INBOX', [Buffer.from('Subject: hi\r\n'), Buffer.from('\r\nbody\r\n')], envelope);
    expect(m.path).toBe(join(dir, 'spool', 'new', m.id));
    expect(await readFile(m.path, 'utf8')).toBe('Subject: hi\r\n\r\nbody\r\n');
    expect(JSON.parse(await readFile(m.envelopePath, 'utf8'))).toEqual({ ...envelope, folder: 'INBOX' });
    expect(await readdir(join(dir, 'spool', 'tmp'))).toEqual([]);
  });

  it('gives every message a distinct name', async () => {
    const ids = await Promise.all(Array.from({ length: 50 }, () => spool.deliver('INBOX', Buffer.from('x'), envelope)));
    expect(new Set(ids.map((m) => m.id)).size).toBe(50);
    expect(await readdir(join(dir, 'spool', 'new'))).toHaveLength(50);
  });

  it('files into Maildir++ folders, and refuses names that leave the spool', async () => {
    const m = await spool.deliver('Lists/Announce', Buffer.from('x'), envelope);
    expect(m.path).toBe(join(dir, 'spool', '.Lists.Announce', 'new', m.id));
    expect(spool.folderDir('inbox')).toBe(join(dir, 'spool'));
    await expect(spool.deliver('../../etc', Buffer.from('x'), envelope)).rejects.toThrow(/invalid folder name/);
    await expect(spool.deliver('a/../b', Buffer.from('x'), envelope)).rejects.toThrow(/invalid folder name/);
  });

  it('removes everything it wrote when a write fails', async () => {
    // A file where the folder's new/ directory should be makes the final rename fail.
    await spool.deliver('Broken', Buffer.from('first'), envelope).catch(() => undefined);
    await rm(join(dir, 'spool', '.Broken', 'new'), { recursive: true, force: true });
    await writeFile(join(dir, 'spool', '.Broken', 'new'), 'not a directory');
    const before = await readdir(join(dir, 'spool', 'envelopes'));
    await expect(spool.deliver('Broken', Buffer.from('second'), envelope)).rejects.toThrow();
    expect(await readdir(join(dir, 'spool', 'tmp'))).toEqual([]);
    expect(await readdir(join(dir, 'spool', 'envelopes'))).toEqual(before.filter((e) => !e.includes('second')));
    expect((await readdir(join(dir, 'spool', 'envelopes'))).length).toBe(before.length);
  });

  // Up to 256 KiB a message is written by the spool writer's thread; past that, from the event loop.
  for (const [size, way] of [[1000, 'the spool writer thread'], [300 * 1024, 'the event loop']] as const) {
    it(`a message of ${size} octets (${way}): stored whole, and when its file cannot be made, its envelope is not left behind`, async () => {
      const body = Buffer.alloc(size, 'm');
      const m = await spool.deliver('INBOX', [Buffer.from('Received: x\r\n'), body], envelope);
      expect((await readFile(m.path)).equals(Buffer.concat([Buffer.from('Received: x\r\n'), body]))).toBe(true);
      expect(JSON.parse(await readFile(m.envelopePath, 'utf8'))).toEqual({ ...envelope, folder: 'INBOX' });
      // Without tmp/ the message's file fails at once, while its envelope is being written.
      await rm(join(dir, 'spool', 'tmp'), { recursive: true });
      await expect(spool.deliver('INBOX', body, envelope)).rejects.toThrow(/ENOENT/);
      expect(await readdir(join(dir, 'spool', 'envelopes'))).toEqual([`${m.id}.json`]);
      expect(await readdir(join(dir, 'spool', 'new'))).toEqual([m.id]);
    });
  }

  it('recovers after a crash: drops tmp leftovers and envelopes without a message', async () => {
    const kept = await spool.deliver('INBOX', Buffer.from('kept'), envelope);
    await writeFile(join(dir, 'spool', 'tmp', 'half-written'), 'partial');
    await writeFile(join(dir, 'spool', 'envelopes', 'orphan.json'), '{}');
    expect(await spool.recover()).toEqual({ removedTmp: 1, removedEnvelopes: 1 });
    expect(await readdir(join(dir, 'spool', 'envelopes'))).toEqual([`${kept.id}.json`]);
    expect(await readdir(join(dir, 'spool', 'new'))).toEqual([kept.id]);
  });
});

describe('the spool writer thread', () => {
  it('a message in hand when the thread dies fails (the client hears 451), and the next one starts a new thread', async () => {
    await spool.deliver('INBOX', Buffer.from('first'), envelope);
    const thread = (spoolWriter as unknown as { worker: Worker }).worker;
    const inHand = spool.deliver('INBOX', Buffer.from('in hand'), envelope);
    await new Promise((r) => setImmediate(r)); // handed to the thread
    await thread.terminate();
    await expect(inHand).rejects.toThrow(/spool writer thread exited/);
    const after = await spool.deliver('INBOX', Buffer.from('after'), envelope);
    expect(await readFile(after.path, 'utf8')).toBe('after');
    expect((spoolWriter as unknown as { worker: Worker }).worker).not.toBe(thread);
  });
});
