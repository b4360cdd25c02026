/**
 * serveInOrder (src/frontdoors/tcp-front.ts) over a real socket on
 * 127.0.0.1: a peer that sends faster than its requests are answered is
 * paused once enough requests, or enough of their bytes, wait.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { serveInOrder } from '../../src/frontdoors/tcp-front.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A server whose requests are the chunks it reads, answered only once `open` is called; and a client socket to it. */
async function gated(limits: { maxQueued: number; maxQueuedBytes?: number }) {
  let open = () => {};
  const gate = new Promise<void>((r) => (open = r));
  let handled = 0;
  let served!: Socket;
  const accepted = new Promise<void>((resolve) => {
    const server = createServer((socket) => {
      served = socket;
      serveInOrder<Buffer>(socket, {
        id: 't',
        logger: pino({ level: 'silent' }),
        name: 'test',
        decode: (chunk) => [chunk],
        malformed: () => false,
        handle: async (request) => {
          await gate;
          handled += request.length;
          return {};
        },
        ...limits,
        sizeOf: (request) => request.length,
        closed: () => {},
      });
      resolve();
    });
    servers.push(server);
    server.listen(0, '127.0.0.1', () => {
      const client = connect((server.address() as { port: number }).port, '127.0.0.1');
      sockets.push(client);
    });
  });
  await accepted;
  return { open, client: sockets.at(-1)!, served: () => served, handled: () => handled };
}

describe('serveInOrder', () => {
  it('pauses the socket once the waiting requests hold maxQueuedBytes, reads no further, and resumes when they are answered', async () => {
    const t = await gated({ maxQueued: 10_000, maxQueuedBytes: 128 * 1024 });
    const total = 4 * 1024 * 1024;
    t.client.write(Buffer.alloc(total, 'x'));
    await expect.poll(() => t.served().isPaused()).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    // What was read when it paused: the bound and the chunk that passed it (the rest waits in the kernel's buffers).
    expect(t.served().bytesRead).toBeLessThan(128 * 1024 + 256 * 1024);
    t.open();
    await expect.poll(() => t.handled(), { timeout: 5000 }).toBe(total);
  });

  it('without a byte bound, counts requests alone', async () => {
    const t = await gated({ maxQueued: 4 });
    t.client.write(Buffer.alloc(1024, 'x'));
    await new Promise((r) => setTimeout(r, 50));
    expect(t.served().isPaused()).toBe(false);
    t.open();
    await expect.poll(() => t.handled()).toBe(1024);
  });
});
