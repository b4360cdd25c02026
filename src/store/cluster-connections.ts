/**
 * Open connections per client IP address across the workers of one server
 * when no Redis is configured (docs/operations.md, "Workers"). Each worker
 * counts in the primary: it tells the primary of every connection it opens
 * and closes, over node:cluster's IPC channel, and the primary answers an
 * open with the total from that address over every worker. So
 * `max_connections_per_ip` holds for the server, not for each worker. A
 * channel keeps its messages in order, so an open is never counted before
 * the close that came first; a worker that dies stops counting at once.
 *
 * The primary's half is ConnectionTally; a worker's is ClusterConnections.
 */
import { type ConnectionCounter, LocalConnections } from './connections.js';

const ASK = 'smtp-cbv:connections';
const ANSWER_WITHIN_MS = 1000;
const ANSWER = 'smtp-cbv:connections-total';

interface Ask {
  type: typeof ASK;
  op: 'open' | 'close' | 'count';
  ip: string;
  /** Set when an answer is wanted. */
  seq?: number;
}

interface Answer {
  type: typeof ANSWER;
  seq: number;
  total: number;
}

/** What a worker needs of its IPC channel (its `process`). */
export interface WorkerChannel {
  send?(message: unknown): boolean;
  connected?: boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** A worker's counter: answered by the primary, by this process's own count while the channel is gone. */
export class ClusterConnections implements ConnectionCounter {
  private readonly local = new LocalConnections();
  /** The server-wide count learnt last, per address this worker has connections from. */
  private readonly known = new Map<string, number>();
  private readonly waiting = new Map<number, (total: number) => void>();
  private seq = 0;

  constructor(private readonly channel: WorkerChannel = process) {
    channel.on('message', (m) => {
      const a = m as Partial<Answer> | null;
      if (a?.type !== ANSWER || typeof a.seq !== 'number') return;
      const resolve = this.waiting.get(a.seq);
      this.waiting.delete(a.seq);
      resolve?.(Number(a.total));
    });
  }

  open(ip: string): Promise<number> {
    this.local.add(ip, 1);
    return this.ask('open', ip);
  }

  close(ip: string): void {
    if (this.local.add(ip, -1) === 0) this.known.delete(ip);
    this.send({ type: ASK, op: 'close', ip });
  }

  count(ip: string): Promise<number> {
    return this.ask('count', ip);
  }

  current(ip: string): number {
    return this.known.get(ip) ?? this.local.current(ip);
  }

  private async ask(op: 'open' | 'count', ip: string): Promise<number> {
    const seq = ++this.seq;
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<number>((resolve) => {
      this.waiting.set(seq, resolve);
      // A primary too busy to answer within a second must not hold the greeting: this worker's own count answers.
      timer = setTimeout(() => {
        this.waiting.delete(seq);
        resolve(this.local.current(ip));
      }, ANSWER_WITHIN_MS);
      timer.unref();
    });
    if (!this.send({ type: ASK, op, ip, seq })) {
      clearTimeout(timer);
      this.waiting.delete(seq);
      return this.local.current(ip);
    }
    const total = await answered;
    clearTimeout(timer);
    if (this.local.current(ip) > 0) this.known.set(ip, total);
    return total;
  }

  private send(message: Ask): boolean {
    if (!this.channel.send || this.channel.connected === false) return false;
    try {
      return this.channel.send(message);
    } catch {
      return false;
    }
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
    const m = message as Partial<Ask> | null;
    if (m?.type !== ASK || typeof m.ip !== 'string') return false;
    if (this.gone.has(worker.id)) return true;
    const own = this.byWorker.get(worker.id) ?? new LocalConnections();
    this.byWorker.set(worker.id, own);
    if (m.op === 'open') {
      own.add(m.ip, 1);
      this.total.add(m.ip, 1);
    } else if (m.op === 'close' && own.current(m.ip) > 0) {
      own.add(m.ip, -1);
      this.total.add(m.ip, -1);
    }
    if (typeof m.seq === 'number') worker.send({ type: ANSWER, seq: m.seq, total: this.total.current(m.ip) } satisfies Answer);
    return true;
  }

  /** A worker is gone: its connections went with it. */
  forget(workerId: number): void {
    const own = this.byWorker.get(workerId);
    this.byWorker.delete(workerId);
    this.gone.add(workerId);
    if (own) for (const [ip, n] of own.entries()) this.total.add(ip, -n);
  }

  /** Connections open from `ip`, every worker together. */
  current(ip: string): number {
    return this.total.current(ip);
  }
}
