/**
 * A test peer over a real loopback socket: it collects what arrives, and
 * lets a reader wait until more arrives or the connection closes.
 */
import { connect, type Socket } from 'node:net';

export abstract class SocketPeer {
  private waiters: Array<() => void> = [];
  closed = false;

  protected constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.received(d);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** Bytes arrived. */
  protected abstract received(data: Buffer): void;

  protected static connectTo(port: number, host: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => resolve(socket));
      socket.once('error', reject);
    });
  }

  /** Resolves when more data arrives or the connection closes. */
  protected more(): Promise<void> {
    return new Promise<void>((r) => this.waiters.push(r));
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  close(): void {
    this.socket.destroy();
  }
}
