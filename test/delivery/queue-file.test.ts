import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EntryHeader, newQueueId, QueueFiles } from '../../src/delivery/queue-file.js';

let dir: string;
let files: QueueFiles;
const header = (id: string): EntryHeader => ({ v: 1, id, kind: 'message', from: 'a@sender.test', recipients: [{ address: 'b@rcpt.test' }], receivedAt: 1, size: 0 });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-queue-file-'));
  files = new QueueFiles(join(dir, 'queue'));
  await files.init();
});
afterEach(() => rm(dir, { recursive: true, force: true }));

// Entries held in memory are written by the spool writer's thread; past 256 KiB, from the event loop.
describe.each([
  ['the spool writer thread', 1000],
  ['the event loop', 300 * 1024],
])('queue entries written by %s', (_way, size) => {
  it('are read back whole, and counted as one fdatasync each plus the directory fsyncs', async () => {
    const a = newQueueId();
    const b = newQueueId();
    const message = Buffer.alloc(size, 'm');
    await files.create([
      { header: header(a), message },
      { header: { ...header(b), kind: 'redirect' }, message: Buffer.from('redirected') },
    ]);
    expect(await files.ids()).toEqual([a, b].sort());
    expect((await files.read(a)).message.equals(message)).toBe(true);
    expect((await files.read(b)).header.kind).toBe('redirect');
    expect(files.counter.fsyncs).toBe(3);
  });

  it('are written all or none: when one cannot be made, the others are not left', async () => {
    const a = newQueueId();
    const b = newQueueId();
    // A name in the way of the second entry's temporary file makes its creation fail.
    await writeFile(join(dir, 'queue', 'entries', `${b}.tmp`), 'in the way');
    await expect(
      files.create([
        { header: header(a), message: Buffer.alloc(size, 'm') },
        { header: header(b), message: Buffer.from('second') },
      ]),
    ).rejects.toThrow(/EEXIST/);
    expect((await readdir(join(dir, 'queue', 'entries'))).filter((n) => n !== `${b}.tmp`)).toEqual([]);
  });
});
