/**
 * Storing a spooled message copies its file through one buffer
 * (MessageSource.chunks with `into`, docs/server.md "Messages on disk"):
 * the chunks are views of that buffer, read again for each chunk, and the
 * copy is still the message exactly, also with a new header section
 * (withHead) whose body stays in the spool file. Before, every chunk was a
 * buffer of its own, and a hundred 10 MiB messages stored at once left
 * their chunks for the collector: the peak memory of the benchmark moved
 * with when it ran.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDurably } from '../../src/delivery/write-pieces.js';
import { fileSource, withHead, type MessageSource } from '../../src/session/message-source.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-copy-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function spooled(bytes: Uint8Array, head?: Buffer): Promise<MessageSource> {
  const path = join(dir, `m${++n}`);
  await writeFile(path, bytes);
  return fileSource(path, { size: bytes.length, bareLf: 0, head });
}

/**
 * Each chunk copied out before the next is asked for, as a copy must;
 * `fromFile` is whether each chunk was a view of `into`, from the
 * `skip`-th on (withHead's own head comes first, not from the file).
 */
async function collect(chunks: AsyncIterable<Buffer>, into: Buffer, skip = 0): Promise<{ octets: Buffer; fromFile: boolean[] }> {
  const out: Buffer[] = [];
  const fromFile: boolean[] = [];
  for await (const c of chunks) {
    if (out.length >= skip) fromFile.push(c.buffer === into.buffer);
    out.push(Buffer.from(c));
  }
  return { octets: Buffer.concat(out), fromFile };
}

describe('a spooled message read into one buffer', () => {
  it('gives the file octets exactly, each chunk a view of the buffer', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4000 }), fc.integer({ min: 1, max: 600 }), async (bytes, size) => {
        const into = Buffer.alloc(size);
        const { octets, fromFile } = await collect((await spooled(bytes)).chunks(into), into);
        expect(octets.equals(Buffer.from(bytes))).toBe(true);
        expect(fromFile.every((v) => v)).toBe(true);
        expect(fromFile.length).toBe(Math.ceil(bytes.length / size));
      }),
      { numRuns: 150 },
    );
  });

  it('with a new header section, gives the new head and then the body from the file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 3000 }), fc.string({ maxLength: 300 }), fc.integer({ min: 1, max: 500 }), async (oldFields, body, newFields, size) => {
        const oldHead = Buffer.from(`${oldFields.replace(/\r?\n/g, ' ')}\r\n\r\n`, 'latin1');
        const newHead = Buffer.from(`${newFields.replace(/\r?\n/g, ' ')}\r\n\r\n`, 'latin1');
        const source = withHead(await spooled(Buffer.concat([oldHead, body]), oldHead), newHead);
        const into = Buffer.alloc(size);
        const { octets, fromFile } = await collect(source.chunks(into), into, 1);
        expect(octets.equals(Buffer.concat([newHead, body]))).toBe(true);
        expect(fromFile.every((v) => v)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});

describe('storing a spooled message', () => {
  it('copies it through one buffer, the copy the message exactly', async () => {
    const bytes = Buffer.alloc(1_500_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    const source = await spooled(bytes);
    const asked: Array<Buffer | undefined> = [];
    const watched: MessageSource = {
      ...source,
      chunks: (into?: Buffer) => {
        asked.push(into);
        return source.chunks(into);
      },
    };
    const header = Buffer.from('Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n');
    const path = join(dir, 'stored');
    await writeDurably(path, [header, watched]);
    expect((await readFile(path)).equals(Buffer.concat([header, bytes]))).toBe(true);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toBeInstanceOf(Buffer);
  });
});
