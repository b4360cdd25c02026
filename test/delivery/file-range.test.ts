/**
 * FileRange (src/delivery/file-range.ts): a queued message read where it
 * lies in its entry file, as chunks into one buffer or buffers of their
 * own, as a stream, and its first octets.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileRange } from '../../src/delivery/file-range.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-file-range-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  // A chunk read into a shared buffer is good only until the next: copied.
  for await (const c of chunks) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

async function streamed(r: FileRange): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r.stream()) out.push(c as Buffer);
  return Buffer.concat(out);
}

describe('FileRange', () => {
  it('reads exactly its octets, whatever the range and the buffer it reads into (property)', async () => {
    const path = join(dir, 'entry');
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    await writeFile(path, data);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: data.length - 1 }), fc.integer({ min: 1, max: 300_000 }), fc.integer({ min: 1, max: 70_000 }), async (start, length, into) => {
        // At most 2,000 reads a range: one of 300,000 octets read an octet at a time took 10 s, past the test's timeout.
        const size = Math.min(length, data.length - start, into * 2000);
        const r = new FileRange(path, start, size);
        const want = data.subarray(start, start + size);
        expect((await collect(r.chunks(Buffer.alloc(into)))).equals(want)).toBe(true);
        expect((await collect(r.chunks())).equals(want)).toBe(true);
        expect((await streamed(r)).equals(want)).toBe(true);
        expect((await r.head(100)).equals(want.subarray(0, 100))).toBe(true);
      }),
      { numRuns: 20 },
    );
  });

  it('fails, not stops short, when the file ends before the range does', async () => {
    const path = join(dir, 'short');
    await writeFile(path, 'only this');
    await expect(collect(new FileRange(path, 2, 100).chunks())).rejects.toThrow(/ends 93 bytes before its message does/);
  });
});
