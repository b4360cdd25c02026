/**
 * The process's connection to Redis, and whether it is usable now.
 *
 * Redis is shared state, not a dependency of an SMTP answer
 * (docs/operations.md, "Failure modes"): every user asks `up` first and
 * falls back to its local state when it is false, and every command is
 * bounded (`commandTimeoutMs`) and fails at once while disconnected (no
 * offline queue), so a Redis that is down or slow costs a session
 * milliseconds, never a 4xx or 5xx. ioredis reconnects by itself; the state
 * changes are logged once each, not once per failed command.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisLinkOptions {
  url: string;
  /** Prefix of every key and channel, so several deployments can share one Redis. */
  keyPrefix: string;
  /** A command slower than this counts as a failure (the caller falls back). */
  commandTimeoutMs: number;
  logger: Logger;
}

type Listener = (up: boolean) => void;

/** Commands failing in a row, on a connection that is up, before Redis counts as down. */
const FAILURES_TO_DOWN = 3;

export class RedisLink {
  /** Commands. */
  readonly client: Redis;
  /** A process-wide unique id (host, pid, random), for leases and per-process counts. */
  readonly processId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private state: boolean | undefined;
  private readonly listeners = new Set<Listener>();
  private subscriberConn: Redis | undefined;
  private closed = false;
  private pinger: NodeJS.Timeout | undefined;
  private failuresInRow = 0;

  constructor(readonly options: RedisLinkOptions) {
    this.client = this.connection('commands', false);
    this.client.on('ready', () => this.setState(true));
    this.client.on('close', () => this.setState(false));
  }

  /** True while commands can be sent; false while disconnected (fall back). */
  get up(): boolean {
    return this.state === true;
  }

  key(...parts: string[]): string {
    return this.options.keyPrefix + parts.join(':');
  }

  /**
   * Runs `op` when Redis is up; `{ ok: false }` when it is down or the
   * command fails (then Redis counts as down until it answers again).
   */
  async attempt<T>(op: (r: Redis) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    if (!this.up) return { ok: false };
    try {
      const value = await op(this.client);
      this.failuresInRow = 0;
      return { ok: true, value };
    } catch (e) {
      this.failed(e);
      return { ok: false };
    }
  }

  /**
   * A command failed or timed out while the connection looked fine. That
   * command's caller falls back at once. After FAILURES_TO_DOWN in a row (a
   * slow or overloaded Redis) Redis counts as down until a PING answers in
   * time again, so the sessions behind do not each wait for a timeout. One
   * failure alone does not: a process whose event loop was busy sees its
   * own lag as a timeout, and Redis is not to blame.
   */
  failed(err: unknown): void {
    if (!this.up) return;
    this.options.logger.debug({ event: 'redis.error', err: String(err) }, 'redis command failed');
    if (++this.failuresInRow < FAILURES_TO_DOWN) return;
    this.setState(false);
    if (this.pinger) return;
    this.pinger = setInterval(() => {
      if (this.client.status !== 'ready') return; // the ready event will say when it is back
      this.client.ping().then(() => this.client.status === 'ready' && this.setState(true), () => undefined);
    }, 1000);
    this.pinger.unref();
  }

  /** Called on every change between up and down. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A second connection in subscriber mode (Redis allows no other commands
   * on it), made on first use; it resubscribes by itself after a reconnect.
   */
  subscriber(): Redis {
    this.subscriberConn ??= this.connection('subscriber', true);
    return this.subscriberConn;
  }

  /** Resolves once the first connection attempt has succeeded or failed (start-up readiness). */
  async settled(timeoutMs: number): Promise<boolean> {
    if (this.state !== undefined) return this.up;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, timeoutMs);
      const off = this.onChange(done);
      function done() {
        clearTimeout(t);
        off();
        resolve();
      }
    });
    return this.up;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pinger);
    // QUIT lets Redis finish what was sent (a last DEL of our keys); a Redis that does not answer is cut off.
    await Promise.all(
      [this.client, this.subscriberConn].map(async (c) => {
        if (!c) return;
        if (c.status === 'ready') await Promise.race([c.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 500).unref())]);
        c.disconnect(false);
      }),
    );
  }

  private connection(role: string, offlineQueue: boolean): Redis {
    const r = new Redis(this.options.url, {
      // Fail fast instead of queueing while Redis is away: the caller falls back.
      enableOfflineQueue: offlineQueue,
      maxRetriesPerRequest: offlineQueue ? null : 0,
      commandTimeout: offlineQueue ? undefined : this.options.commandTimeoutMs,
      connectTimeout: Math.max(1000, this.options.commandTimeoutMs * 4),
      // Reconnect for ever, backing off to one try a second.
      retryStrategy: (times) => Math.min(times * 100, 1000),
      lazyConnect: false,
    });
    // An error event without a listener would be printed by ioredis; the state change says it all.
    r.on('error', (err: Error) => {
      if (this.state !== false) this.options.logger.debug({ event: 'redis.error', role, err: err.message }, 'redis error');
    });
    return r;
  }

  private setState(up: boolean): void {
    if (this.closed || this.state === up) return;
    const first = this.state === undefined;
    this.state = up;
    this.failuresInRow = 0;
    if (up && this.pinger) {
      clearInterval(this.pinger);
      this.pinger = undefined;
    }
    if (up) this.options.logger.info({ event: 'redis.up', url: redact(this.options.url) }, 'redis connected: shared CBV state in use');
    else this.options.logger.warn({ event: 'redis.down', url: redact(this.options.url), first }, 'redis unreachable: falling back to local CBV state');
    for (const l of this.listeners) l(up);
  }
}

/** The URL without its password, for logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://?';
  }
}
