/**
 * Open connections per client IP address across the workers of one server
 * when no Redis is configured (docs/operations.md, "Workers"). Each worker
 * counts in the primary (primary-channel.ts): it tells the primary of every
 * connection it opens and closes, and the primary answers an open with the
 * total from that address over every worker. So `max_connections_per_ip`
 * holds for the server, not for each worker. A channel keeps its messages
 * in order, so an open is never counted before the close that came first;
 * a worker that dies stops counting at once. The primary also answers for
 * a CIDR block, on one listener or on all (audit_connections_on_*).
 *
 * The primary's half is ConnectionTally; a worker's is ClusterConnections.
 */
import { type ConnectionCounter, LocalConnections } from './connections.js';
import { answer, type PrimaryChannel, primaryChannel } from './primary-channel.js';

const CONNECTIONS = 'smtp-cbv:connections';

interface ConnectionMessage {
  type: typeof CONNECTIONS;
  op: 'open' | 'close' | 'count' | 'block';
  ip: string;
  /** open, close: the listener the connection came in on; block: the listener counted (absent: all). */
  listener?: string;
  /** block: the prefix length. */
  mask?: number;
  seq?: number;
}

/** A worker's counter: answered by the primary, by this process's own count when the primary does not answer. */
export class ClusterConnections implements ConnectionCounter {
  private readonly local = new LocalConnections();
  /** The server-wide count learnt last, per address this worker has connections from. */
  private readonly known = new Map<string, number>();

  constructor(private readonly primary: PrimaryChannel = primaryChannel()) {}

  open(ip: string, listener?: string): Promise<number> {
    this.local.add(ip, 1, listener);
    return this.ask('open', ip, listener);
  }

  close(ip: string, listener?: string): void {
    if (this.local.add(ip, -1, listener) === 0) this.known.delete(ip);
    this.primary.tell<ConnectionMessage>({ type: CONNECTIONS, op: 'close', ip, ...(listener === undefined ? {} : { listener }) });
  }

  /** The primary's count for the block, or this worker's own when it does not answer. */
  inBlock(ip: string, mask: number, listener?: string): Promise<number> {
    return this.primary.ask<number, ConnectionMessage>({ type: CONNECTIONS, op: 'block', ip, mask, ...(listener === undefined ? {} : { listener }) }, () => this.local.inBlock(ip, mask, listener));
  }

  count(ip: string): Promise<number> {
    return this.ask('count', ip);
  }

  current(ip: string): number {
    return this.known.get(ip) ?? this.local.current(ip);
  }

  private async ask(op: 'open' | 'count', ip: string, listener?: string): Promise<number> {
    const total = await this.primary.ask<number, ConnectionMessage>({ type: CONNECTIONS, op, ip, ...(listener === undefined ? {} : { listener }) }, () => this.local.current(ip));
    if (this.local.current(ip) > 0) this.known.set(ip, total);
    return total;
  }
}

/** The primary's count: every worker's connections per address. */
export class ConnectionTally {
  private readonly total = new LocalConnections();
  private readonly byWorker = new Map<number, LocalConnections>();
  /** Workers that are gone: what they sent before they went and arrives after is not counted (worker ids are never reused). */
  private readonly gone = new Set<number>();

  /** Handles a worker's message if it is about connections; returns whether it was. */
  handle(worker: { id: number; send(message: unknown): unknown }, message: unknown): boolean {
    const m = message as Partial<ConnectionMessage> | null;
    if (m?.type !== CONNECTIONS || typeof m.ip !== 'string') return false;
    if (m.op === 'block') {
      answer(worker, m as ConnectionMessage, this.total.inBlock(m.ip, m.mask ?? 128, m.listener));
      return true;
    }
    if (this.gone.has(worker.id)) return true;
    const own = this.byWorker.get(worker.id) ?? new LocalConnections();
    this.byWorker.set(worker.id, own);
    if (m.op === 'open') {
      own.add(m.ip, 1, m.listener);
      this.total.add(m.ip, 1, m.listener);
    } else if (m.op === 'close' && own.current(m.ip, m.listener) > 0) {
      own.add(m.ip, -1, m.listener);
      this.total.add(m.ip, -1, m.listener);
    }
    answer(worker, m as ConnectionMessage, this.total.current(m.ip));
    return true;
  }

  /** A worker is gone: its connections went with it. */
  forget(workerId: number): void {
    const own = this.byWorker.get(workerId);
    this.byWorker.delete(workerId);
    this.gone.add(workerId);
    if (own) for (const [listener, ip, n] of own.byListener()) this.total.add(ip, -n, listener);
  }

  /** Connections open from `ip`, every worker together. */
  current(ip: string): number {
    return this.total.current(ip);
  }
}
