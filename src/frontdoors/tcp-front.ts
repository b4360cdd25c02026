/**
 * A TCP listener for a front door that speaks to an MTA rather than to
 * SMTP clients (the policy service, the milter): it binds, hands each
 * connection to the front door's handler, closes idle connections, and
 * stops gracefully (no new connections; open ones get until the deadline).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';

export interface TcpFrontOptions {
  host: string;
  port: number;
  /** Idle time after which a connection is closed (the MTA reconnects when it needs us). */
  idleTimeoutMs: number;
  /** Most connections open at once; more are closed on arrival, with a log line. */
  maxConnections: number;
  logger: Logger;
  /** Names the front door in log lines: "policy", "milter". */
  name: string;
}

/** Takes over one accepted connection. */
export type ConnectionHandler = (socket: Socket, id: string) => void;

export class TcpFront {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private counter = 0;

  constructor(
    private readonly options: TcpFrontOptions,
    private readonly handler: ConnectionHandler,
  ) {}

  async start(): Promise<{ host: string; port: number }> {
    const o = this.options;
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const bound = { host: o.host, port: typeof address === 'object' && address ? address.port : o.port };
    o.logger.info({ event: 'listening', frontDoor: o.name, listeners: [bound] }, `${o.name} listening on ${bound.host}:${bound.port}`);
    return bound;
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  async close(deadlineMs: number): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    const until = Date.now() + deadlineMs;
    while (this.sockets.size && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, until - Date.now()))));
    const forced = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    await closed;
    this.options.logger.info({ event: 'stopped', frontDoor: this.options.name, forced }, 'stopped');
  }

  private accept(socket: Socket): void {
    const o = this.options;
    const id = `${o.name}-${process.pid}-${++this.counter}`;
    if (this.sockets.size >= o.maxConnections) {
      o.logger.warn({ event: 'refused', frontDoor: o.name, connection: id, client: socket.remoteAddress, reason: 'max-connections' }, 'too many connections');
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(o.idleTimeoutMs, () => {
      o.logger.debug({ event: 'idle', frontDoor: o.name, connection: id }, 'idle connection closed');
      socket.destroy();
    });
    socket.on('error', (err) => o.logger.debug({ event: 'socket-error', frontDoor: o.name, connection: id, err: err.message }, 'socket error'));
    socket.on('close', () => this.sockets.delete(socket));
    this.handler(socket, id);
  }
}

export interface InOrderOptions<In> {
  id: string;
  logger: Logger;
  /** Names the protocol in log events: "policy" gives `policy.malformed`. */
  name: string;
  /** Bytes to whole requests; throws on malformed input. */
  decode(chunk: Buffer): In[];
  /** True for the decoder's and handler's own protocol errors (logged as malformed input). */
  malformed(err: unknown): boolean;
  /** The bytes to answer with (possibly none); `end: true` closes the connection after them. */
  handle(request: In): Promise<{ reply?: Buffer; end?: boolean }>;
  /** Requests read ahead of the one being answered before the socket is paused. */
  maxQueued: number;
  /** Bytes of requests read ahead (as `sizeOf` counts them) before the socket is paused; default: no bound but maxQueued. */
  maxQueuedBytes?: number;
  sizeOf?(request: In): number;
  /** The connection is over, however it ended. */
  closed(): void;
}

/**
 * Answers a connection's requests one at a time, in order. Input that
 * breaks the protocol closes the connection with one log line and touches
 * nothing else; a peer that sends faster than we answer is paused.
 */
export function serveInOrder<In>(socket: Socket, o: InOrderOptions<In>): void {
  const queue: In[] = [];
  const sizeOf = o.sizeOf ?? (() => 0);
  const maxBytes = o.maxQueuedBytes ?? Infinity;
  let queuedBytes = 0;
  let running = false;
  let over = false;

  const end = () => {
    if (over) return;
    over = true;
    o.closed();
  };
  const fail = (err: unknown) => {
    if (over) return;
    const malformed = o.malformed(err);
    o.logger.warn(
      { event: `${o.name}.${malformed ? 'malformed' : 'error'}`, connection: o.id, client: socket.remoteAddress, err: (err as Error).message },
      malformed ? `malformed ${o.name} input: closing the connection` : `${o.name} connection failed`,
    );
    end();
    socket.destroy();
  };
  const drain = async () => {
    if (running) return;
    running = true;
    try {
      while (queue.length && !over) {
        const next = queue.shift()!;
        queuedBytes -= sizeOf(next);
        const { reply, end: last } = await o.handle(next);
        if (over) return;
        if (reply?.length) socket.write(reply);
        if (last) {
          end();
          socket.end();
          return;
        }
        if (socket.isPaused() && queue.length < o.maxQueued / 2 && queuedBytes < maxBytes / 2) socket.resume();
      }
    } catch (e) {
      fail(e);
    } finally {
      running = false;
    }
  };

  socket.on('data', (chunk: Buffer) => {
    if (over) return;
    try {
      for (const request of o.decode(chunk)) {
        queue.push(request);
        queuedBytes += sizeOf(request);
      }
    } catch (e) {
      fail(e);
      return;
    }
    if (queue.length >= o.maxQueued || queuedBytes >= maxBytes) socket.pause();
    void drain();
  });
  socket.on('close', end);
}
