/**
 * A loopback port where TCP connects hang: a listener with a backlog of 1 in
 * a worker thread that is blocked (Atomics.wait), so nothing accepts. Once
 * the kernel's accept queue is full of filler connections, Linux drops
 * further SYNs and a connect neither succeeds nor fails: a real connect
 * timeout, without leaving loopback.
 */
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

export interface Blackhole {
  port: number;
  close(): Promise<void>;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer(() => {});
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  Atomics.wait(workerData, 0, 0, 30000);
  process.exit(0);
});`;

export async function startBlackhole(): Promise<Blackhole> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER, { eval: true, workerData: flag });
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  const fillers: Socket[] = [];
  // Fill the accept queue until a connect stays pending.
  for (let i = 0; i < 16; i++) {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    fillers.push(s);
    const connected = await new Promise<boolean>((resolve) => {
      s.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 200);
    });
    if (!connected) break;
  }
  return {
    port,
    close: async () => {
      for (const s of fillers) s.destroy();
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await worker.terminate();
    },
  };
}
