import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EntryHeader, newQueueId, QueueFiles } from '../../src/delivery/queue-file.js';
import { FileRange } from '../../src/delivery/file-range.js';

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

describe('an entry read without its message', () => {
  it('gives the header, the records appended after the message, and where the message lies', async () => {
    const id = newQueueId();
    // A header line past one 64 KiB read: many recipients.
    const recipients = Array.from({ length: 3000 }, (_, i) => ({ address: `rcpt${i}@dest.test` }));
    const message = Buffer.from(`Subject: x\r\n\r\n${'body\r\n'.repeat(50_000)}`);
    await files.create([{ header: { ...header(id), recipients }, message }]);
    await files.append(id, [{ t: 'flush', c: 'c1', at: 5 }]);
    const e = await files.entry(id);
    expect(e.header.recipients).toHaveLength(3000);
    expect(e.records).toEqual([{ t: 'flush', c: 'c1', at: 5 }]);
    expect(e.message).toBeInstanceOf(FileRange);
    expect(e.message.size).toBe(message.length);
    const chunks: Buffer[] = [];
    for await (const c of e.message.chunks()) chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks).equals(message)).toBe(true);
    expect((await files.read(id)).records).toEqual(e.records);
    // A delivery reads the header line alone for the same place.
    expect(await files.message(id)).toEqual(e.message);
  });

  it('refuses a file cut short inside its message', async () => {
    const id = newQueueId();
    await files.create([{ header: header(id), message: Buffer.alloc(1000, 'm') }]);
    const path = files.path(id);
    const { truncate } = await import('node:fs/promises');
    await truncate(path, 500);
    await expect(files.entry(id)).rejects.toThrow(/message truncated/);
  });
});
