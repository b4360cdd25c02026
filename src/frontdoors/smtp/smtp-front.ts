/**
 * The SMTP front door: listeners that turn what a client does into session
 * events (src/session) and send back the session's replies. It owns what
 * only a network server has: listeners, the per-address connection count,
 * the message size limit, tarpit delays and a graceful stop.
 */
import { tmpdir } from 'node:os';
import type { Logger } from 'pino';
import { replies } from '../../session/replies.js';
import type { Reply } from '../../session/reply.js';
import { DELIVERBY_KEYWORD, parseByParameter } from '../../session/deliver-by.js';
import { type PhaseOutcome, Session, type SessionDeps } from '../../session/session.js';
import { type ConnectionCounter, LocalConnections } from '../../store/connections.js';
import type { MessageMemory } from '../../session/message-source.js';
import { DEFAULT_IN_MEMORY_LIMIT, DEFAULT_MESSAGE_MEMORY, memoryBudget } from '../incoming-message.js';
import type { SessionLimits } from '../../session/limits.js';
import { type Answer, createSmtpListener, type DataIn, type SmtpClient, type SmtpListener } from './smtp-server-adapter.js';


export interface ListenerOptions {
  host: string;
  port: number;
  /** Context values for a client address (listener and peer `Context = [...]`). */
  contextFor?: (remoteAddress: string) => Record<string, string>;
  tls?: { key: Buffer; cert: Buffer };
  /** Per-listener overrides of the server-wide settings below. */
  hostname?: string;
  greeting?: string;
  maxMessageSize?: number;
  maxConnectionsPerIp?: number;
  /** Recipients and messages per transaction and connection for a client address (src/session/limits.ts); absent: none. */
  limitsFor?: (remoteAddress: string) => SessionLimits;
}

export interface SmtpFrontOptions {
  listeners: ListenerOptions[];
  /** The name in the greeting and in Received: headers. */
  hostname: string;
  maxMessageSize: number;
  maxConnectionsPerIp: number;
  /** Idle time before a connection is dropped. */
  socketTimeoutMs: number;
  /** Wait before the greeting (early talkers get 554); default 0. */
  greetPauseMs?: number;
  /** Connections open at once on each listener; default 1000. */
  maxConnections?: number;
  /** Longest DATA transfer; default 10 minutes (RFC 5321 4.5.3.2.6). */
  dataTimeoutMs?: number;
  /** Bytes of messages held in memory at once, all sessions together; default 512 MiB. */
  maxMessageMemory?: number;
  /** Where messages larger than `messageInMemoryLimit` are written as they arrive: the spool's tmp/. Default: the system's temporary directory. */
  incomingDir?: string;
  /** Messages up to this size stay in memory; default 128 KiB. */
  messageInMemoryLimit?: number;
  logger: Logger;
  /** Where connections per client address are counted; default: in this process (src/store/connections.ts). */
  connections?: ConnectionCounter;
}

export class SmtpFront {
  /** One budget for every listener: the process's memory is one. */
  private readonly memory: MessageMemory;
  private listeners: SmtpListener[] = [];
  private sessions = new Map<string, { session: Session; listener: SmtpListener; ip: string; on: string; counted: boolean }>();
  private readonly perIp: ConnectionCounter;

  constructor(
    private readonly options: SmtpFrontOptions,
    private readonly deps: SessionDeps,
  ) {
    this.perIp = options.connections ?? new LocalConnections();
    this.memory = memoryBudget(options.maxMessageMemory ?? DEFAULT_MESSAGE_MEMORY);
  }

  /** Starts every listener; resolves with the addresses bound (port 0 picks a free one). */
  async start(): Promise<Array<{ host: string; port: number }>> {
    const bound: Array<{ host: string; port: number }> = [];
    for (const l of this.options.listeners) {
      const listener: SmtpListener = createSmtpListener(
        {
          hostname: l.hostname ?? this.options.hostname,
          banner: l.greeting ?? 'smtp-cbv',
          maxMessageSize: l.maxMessageSize ?? this.options.maxMessageSize,
          socketTimeoutMs: this.options.socketTimeoutMs,
          greetPauseMs: this.options.greetPauseMs ?? 0,
          maxConnections: this.options.maxConnections ?? 1000,
          dataTimeoutMs: this.options.dataTimeoutMs ?? 600_000,
          incoming: { dir: this.options.incomingDir ?? tmpdir(), inMemoryLimit: this.options.messageInMemoryLimit ?? DEFAULT_IN_MEMORY_LIMIT, memory: this.memory },
          ehloKeywords: [DELIVERBY_KEYWORD],
          ...(l.tls ? { tls: l.tls } : {}),
        },
        this.events(l, () => listener),
      );
      this.listeners.push(listener);
      bound.push(await listener.listen(l.port, l.host));
    }
    this.options.logger.info({ event: 'listening', listeners: bound }, 'listening');
    return bound;
  }

  /** Open connections, for tests and metrics. */
  get connectionCount(): number {
    return this.sessions.size;
  }

  /**
   * Graceful stop: no new connections; sessions in progress may finish
   * until the deadline, then each still open gets 421 and is closed.
   */
  async close(deadlineMs: number): Promise<void> {
    for (const l of this.listeners) l.stopAccepting();
    const until = Date.now() + deadlineMs;
    while (this.sessions.size && Date.now() < until) await sleep(Math.min(50, Math.max(1, until - Date.now())));
    const forced = this.sessions.size;
    for (const [id, { listener }] of this.sessions) listener.closeConnection(id, replies.shuttingDown);
    this.options.logger.info({ event: 'stopped', forced }, 'stopped');
  }

  /** Frees the client's per-address slot, once. */
  private release(id: string): void {
    const entry = this.sessions.get(id);
    if (!entry?.counted) return;
    entry.counted = false;
    this.perIp.close(entry.ip, entry.on);
  }

  private events(l: ListenerOptions, listener: () => SmtpListener) {
    const limit = l.maxMessageSize ?? this.options.maxMessageSize;
    const find = (id: string) => this.sessions.get(id)?.session;
    // Every hook finds its session; without one, fail closed.
    const lost = async (): Promise<Answer> => ({ reply: replies.sessionLost, disconnect: true });
    // Each connection is counted with its listener, as configured, for audit_connections_on_listener: one name per listener.
    const on = `${l.host}:${l.port}`;
    return {
      connect: async (client: SmtpClient): Promise<Answer> => {
        const counted = this.perIp.open(client.remoteAddress, on);
        const session = new Session(
          {
            id: client.id,
            remoteAddress: client.remoteAddress,
            remotePort: client.remotePort,
            localAddress: client.localAddress,
            localPort: client.localPort,
            listener: on,
            tls: client.secure,
            context: l.contextFor?.(client.remoteAddress),
            hostname: l.hostname ?? this.options.hostname,
            banner: l.greeting ?? 'smtp-cbv',
            ...(l.limitsFor ? { limits: l.limitsFor(client.remoteAddress) } : {}),
          },
          this.deps,
        );
        this.sessions.set(client.id, { session, listener: listener(), ip: client.remoteAddress, on, counted: true });
        if ((typeof counted === 'number' ? counted : await counted) > (l.maxConnectionsPerIp ?? this.options.maxConnectionsPerIp)) {
          this.options.logger.info({ event: 'refused', session: client.id, client: client.remoteAddress, phase: 'connect', code: 421, reason: 'per-ip-limit' }, 'too many connections from one address');
          const reply = replies.tooManyFromAddress;
          this.deps.services.observer?.phase?.({ phase: 'connect', reply, accepted: false, disconnect: true, tarpitMs: 0 }, session.connection);
          return { reply, disconnect: true };
        }
        return answer(await session.connect());
      },
      hello: async (id: string, verb: 'EHLO' | 'HELO', domain: string, line: string) => {
        const s = find(id);
        return s ? answer(await s.hello(verb, domain, line)) : lost();
      },
      secured: (id: string) => find(id)?.secured(),
      mailFrom: async (id: string, address: string, params: Readonly<Record<string, string | true>>) => {
        const s = find(id);
        if (!s) return lost();
        // RFC 2852: BY=<seconds>;<mode>[T]; the deadline reaches Sieve (RFC 6009 5) and the queue.
        const by = params.BY;
        if (by === undefined) return answer(await s.mailFrom(address));
        const parsed = parseByParameter(by === true ? '' : by, Date.now());
        if ('reply' in parsed) return { reply: parsed.reply };
        return answer(await s.mailFrom(address, { deliverBy: parsed.deliverBy }));
      },
      rcptTo: async (id: string, address: string) => {
        const s = find(id);
        return s ? answer(await s.rcptTo(address)) : lost();
      },
      data: async (id: string, data: DataIn) => {
        const s = find(id);
        if (!s) return lost();
        if ('noMemory' in data) {
          s.reset();
          this.options.logger.warn({ event: 'message-memory', session: id, budget: this.options.maxMessageMemory ?? DEFAULT_MESSAGE_MEMORY }, 'message memory budget reached: 452');
          return { reply: replies.noMemory };
        }
        if ('tooBig' in data) {
          s.reset();
          return { reply: replies.tooBig(limit) };
        }
        return answer(await s.data(data.message));
      },
      reset: (id: string) => find(id)?.reset(),
      // A client that said QUIT no longer counts, though its socket may close a moment later.
      quit: (id: string) => this.release(id),
      closed: (id: string) => {
        this.release(id);
        find(id)?.close();
        this.sessions.delete(id);
      },
    };
  }
}

function answer(o: PhaseOutcome): Answer {
  const a: Answer = { reply: o.reply };
  if (o.disconnect) a.disconnect = true;
  if (o.tarpitMs) a.delayMs = o.tarpitMs;
  if (o.esmtp) a.esmtp = o.esmtp;
  return a;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
