/**
 * A cluster worker's line to its primary (src/store/primary-channel.ts)
 * over an in-memory channel that keeps order as node:cluster's IPC does,
 * each message delivered a turn later, to a primary-side handler.
 */
import { EventEmitter } from 'node:events';
import { PrimaryChannel } from '../../src/store/primary-channel.js';

export interface PrimaryLink {
  channel: PrimaryChannel;
  /** The worker dies: nothing more goes to the primary. */
  cut(): void;
}

export function linkToPrimary(id: number, handle: (worker: { id: number; send(m: unknown): unknown }, message: unknown) => unknown): PrimaryLink {
  const toWorker = new EventEmitter();
  let connected = true;
  const worker = { id, send: (m: unknown) => setImmediate(() => toWorker.emit('message', m)) };
  const channel = new PrimaryChannel({
    get connected() {
      return connected;
    },
    send: (m: unknown) => {
      setImmediate(() => handle(worker, m));
      return true;
    },
    on: (event, listener) => toWorker.on(event, listener),
  });
  return { channel, cut: () => (connected = false) };
}
