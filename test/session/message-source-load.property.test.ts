/**
 * Loading a spooled message (fileSource's load, docs/server.md, "Messages
 * on disk"): read in pieces on the thread pool, the octets are exactly the
 * file's, whatever the size and the piece size; the budget holds them once,
 * whether load or a synchronous bytes() came first, and gets them back at
 * dispose, also when the transaction ends while the load is under way.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSource, type MessageMemory } from '../../src/session/message-source.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-load-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function budget(): MessageMemory & { held: number } {
  const m = { held: 0, reserve: (k: number) => ((m.held += k), true), release: (k: number) => void (m.held -= k) };
  return m;
}

async function spooledFile(bytes: Uint8Array): Promise<string> {
  const path = join(dir, `m${++n}`);
  await writeFile(path, bytes);
  return path;
}

describe('loading a spooled message', () => {
  it('gives the file octets exactly, in pieces of any size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 700 }), fc.boolean(), async (bytes, piece, syncMeanwhile) => {
        const memory = budget();
        const source = fileSource(await spooledFile(bytes), { size: bytes.length, bareLf: 0, head: undefined }, memory, piece);
        const loading = source.load!();
        expect(loading).toBeInstanceOf(Promise);
        // A synchronous read while the load runs: the same octets, held once.
        if (syncMeanwhile) expect(Buffer.compare(source.bytes(), Buffer.from(bytes))).toBe(0);
        await loading;
        expect(source.load!()).toBeUndefined();
        expect(Buffer.compare(source.bytes(), Buffer.from(bytes))).toBe(0);
        expect(source.range!(0, bytes.length).equals(Buffer.from(bytes))).toBe(true);
        expect(memory.held).toBe(bytes.length);
        await source.dispose();
        expect(memory.held).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it('shares one load between readers, and a load the transaction outlived holds nothing', async () => {
    const bytes = Buffer.from('x'.repeat(10_000));
    const memory = budget();
    const source = fileSource(await spooledFile(bytes), { size: bytes.length, bareLf: 0, head: undefined }, memory, 100);
    const a = source.load!();
    expect(source.load!()).toBe(a);
    const disposed = source.dispose();
    await a;
    await disposed;
    expect(memory.held).toBe(0);
  });
});
