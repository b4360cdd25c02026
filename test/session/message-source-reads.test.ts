/**
 * How a spooled message's part bodies are read: through one descriptor
 * per message, opened on the first read and closed when the transaction
 * lets the message go, not an open, read and close per body (a
 * foreverypart loop over many parts would open the file once a part).
 * The real node:fs does the work; the test only counts its calls.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const calls = vi.hoisted(() => ({ open: 0, close: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    openSync: (...args: Parameters<typeof fs.openSync>) => (calls.open++, fs.openSync(...args)),
    closeSync: (fd: number) => (calls.close++, fs.closeSync(fd)),
  };
});

const { IncomingMessage } = await import('../../src/frontdoors/incoming-message.js');
const { sieveView, withHead } = await import('../../src/session/message-source.js');
const { readMimeTree, walkParts } = await import('../../src/sieve/runtime/mime.js');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-reads-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function spooled(text: string) {
  const incoming = new IncomingMessage({ dir, inMemoryLimit: 0, memory: { reserve: () => true, release: () => {} } });
  incoming.write(Buffer.from(text));
  return incoming.finish();
}

describe('part bodies of a spooled message', () => {
  it('are read through one descriptor, closed when the message is disposed', async () => {
    const parts = Array.from({ length: 200 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
    const source = await spooled(`Subject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${parts}--b--\r\n`);
    expect(source.path).toBeDefined();
    const tree = await readMimeTree(sieveView(source));
    calls.open = calls.close = 0;
    const bodies = Array.from(walkParts(tree)).slice(1).map((p) => p.body);
    expect(bodies).toEqual(Array.from({ length: 200 }, (_, i) => `part ${i}`));
    expect(calls.open).toBe(1);
    expect(calls.close).toBe(0);
    // A new header section over the same file reads through the same descriptor.
    const edited = withHead(source, Buffer.from('Received: by x\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n'));
    const again = await readMimeTree(sieveView(edited));
    expect(again.children[5]!.body).toBe('part 5');
    expect(calls.open).toBe(1);
    await source.dispose();
    expect(calls.close).toBe(1);
  });
});
