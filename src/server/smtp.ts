/**
 * The SMTP front: smtp-server does the protocol (command order, syntax,
 * PIPELINING, SIZE, STARTTLS); we run the policy at each phase and spool
 * what is accepted.
 *
 * smtp-server has no EHLO hook and prefixes its own enhanced status code to
 * every reply, so each connection gets two small per-instance wrappers:
 * EHLO/HELO run the ehlo phase before the library answers, and `send`
 * keeps an enhanced code (and line breaks) that the policy put in a reply.
 * smtp-server is pinned to an exact version; test/server covers both.
 */
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { receivedHeader } from './received.js';
import { acceptRecipient, beginTransaction, greeted, messageAccepted, offerRecipient, openSession, refuseTransaction, secured } from './session-vars.js';
import { INBOX, type MaildirSpool, type SpooledMessage } from './spool.js';
import { type DeliveryPlan, type Phase, type PhaseOutcome, type Policy, type Reply, type SessionState } from './types.js';

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
}

export interface ServerOptions {
  listeners: ListenerOptions[];
  policy: Policy;
  spool: MaildirSpool;
  logger: Logger;
  /** The name in the greeting and in Received: headers. */
  hostname: string;
  maxMessageSize: number;
  maxConnectionsPerIp: number;
  /** Upper bound on any tarpit delay a policy asks for. */
  maxTarpitMs: number;
  /** Idle time before smtp-server drops a connection. */
  socketTimeoutMs: number;
}

/** The parts of smtp-server's connection object this module touches. */
interface Connection {
  session: SMTPServerSession;
  send(code: number, data?: string | string[], context?: string | false): void;
  close(): void;
  handler_EHLO(command: Buffer, callback: () => void): void;
  handler_HELO(command: Buffer, callback: () => void): void;
}

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}(?= |$)/;

/** The policy must see every session: without its state, fail closed. */
const NO_SESSION: Reply = { code: 421, enhanced: '4.3.0', text: 'Internal error: session state lost, try again later' };

export class PolicyServer {
  private servers: SMTPServer[] = [];
  private sessions = new Map<string, { state: SessionState; conn: Connection; listener: ListenerOptions }>();
  private perIp = new Map<string, number>();
  private policy: Policy;

  constructor(private readonly options: ServerOptions) {
    this.policy = options.policy;
  }

  /** Swaps the policy (config reload); sessions in progress pick it up at their next phase. */
  setPolicy(policy: Policy): void {
    this.policy = policy;
  }

  /** Starts every listener; resolves with the addresses actually bound (port 0 picks a free one). */
  async start(): Promise<Array<{ host: string; port: number }>> {
    const bound: Array<{ host: string; port: number }> = [];
    for (const listener of this.options.listeners) {
      const server = this.createSmtpServer(listener);
      this.servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(listener.port, listener.host, () => {
          server.server.off('error', reject);
          resolve();
        });
      });
      const address = server.server.address();
      if (address && typeof address === 'object') bound.push({ host: address.address, port: address.port });
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
    for (const s of this.servers) s.server.close();
    const until = Date.now() + deadlineMs;
    while (this.sessions.size && Date.now() < until) await sleep(Math.min(50, Math.max(1, until - Date.now())));
    for (const { conn } of this.sessions.values()) {
      conn.send(421, 'Server shutting down');
      conn.close();
    }
    this.options.logger.info({ event: 'stopped', forced: this.sessions.size }, 'stopped');
  }

  private createSmtpServer(listener: ListenerOptions): SMTPServer {
    const server: SMTPServer = new SMTPServer({
      name: listener.hostname ?? this.options.hostname,
      banner: listener.greeting ?? 'smtp-cbv',
      size: listener.maxMessageSize ?? this.options.maxMessageSize,
      secure: false,
      hideSTARTTLS: !listener.tls,
      ...(listener.tls ? { key: listener.tls.key, cert: listener.tls.cert } : {}),
      authOptional: true,
      disabledCommands: ['AUTH'],
      disableReverseLookup: true,
      socketTimeout: this.options.socketTimeoutMs,
      logger: false,
      onConnect: (session, cb) => void this.onConnect(server, listener, session, cb),
      onSecure: (_socket, session, cb) => {
        const entry = this.sessions.get(session.id);
        if (entry) secured(entry.state);
        cb();
      },
      onMailFrom: (address, session, cb) => void this.onMailFrom(address, session, cb),
      onRcptTo: (address, session, cb) => void this.onRcptTo(address, session, cb),
      onData: (stream, session, cb) => void this.onData(stream, session, cb),
      onClose: (session) => this.onClose(session),
    });
    server.on('error', (err) => this.options.logger.warn({ event: 'smtp-error', err: err.message }, 'smtp server error'));
    return server;
  }

  private async onConnect(server: SMTPServer, listener: ListenerOptions, session: SMTPServerSession, cb: (err?: Error | null) => void) {
    const conn = [...(server as unknown as { connections: Set<Connection> }).connections].find((c) => c.session === session);
    const ip = session.remoteAddress;
    const count = (this.perIp.get(ip) ?? 0) + 1;
    this.perIp.set(ip, count);
    const state = newSessionState(session, listener);
    // Cannot happen with the pinned smtp-server; if it ever does, refuse rather than serve without policy.
    if (!conn) return cb(replyError(NO_SESSION));
    this.sessions.set(session.id, { state, conn, listener });
    this.wrapConnection(conn, state);
    if (count > (listener.maxConnectionsPerIp ?? this.options.maxConnectionsPerIp)) {
      this.log(state, 'connect', { reply: { code: 421, enhanced: '4.7.0', text: 'Too many connections from your address' } }, 0);
      return cb(replyError({ code: 421, enhanced: '4.7.0', text: 'Too many connections from your address, try again later' }));
    }
    const outcome = await this.runPhase('connect', state);
    // Any refusal at connect closes the connection (smtp-server does so for an onConnect error).
    if (outcome.reply && outcome.reply.code >= 400) return cb(replyError(outcome.reply));
    cb();
  }

  private wrapConnection(conn: Connection, state: SessionState) {
    const send = conn.send.bind(conn);
    conn.send = (code, data, context) => {
      const lines = typeof data === 'string' && /[\r\n]/.test(data) ? data.split(/\r?\n|\r/) : data;
      const first = Array.isArray(lines) ? lines[0] : lines;
      // A reply that carries its own enhanced code (from the policy) keeps it, and only it.
      send(code, lines, first !== undefined && ENHANCED.test(first) ? false : context);
    };
    for (const verb of ['EHLO', 'HELO'] as const) {
      const original = conn[`handler_${verb}`].bind(conn);
      conn[`handler_${verb}`] = (command, callback) => {
        const parts = command.toString().trim().split(/\s+/);
        // Let the library answer bad syntax (501) as it always does.
        if (parts.length !== 2) return original(command, callback);
        greeted(state, verb, parts[1]!, command.toString().trim());
        void this.runPhase('ehlo', state).then((outcome) => {
          const reply = outcome.reply;
          if (!reply || reply.code < 400) return original(command, callback);
          conn.send(reply.code, formatReply(reply));
          if (outcome.disconnect && reply.code !== 421) conn.close();
          callback();
        });
      };
    }
  }

  private async onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void) {
    const entry = this.sessions.get(session.id);
    if (!entry) return cb(replyError(NO_SESSION));
    const { state } = entry;
    // A new transaction: a new message context (sieve-dialect.md).
    beginTransaction(state, address.address);
    const outcome = await this.runPhase('mailfrom', state);
    this.answer(entry, outcome, cb, () => refuseTransaction(state));
  }

  private async onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void) {
    const entry = this.sessions.get(session.id);
    if (!entry) return cb(replyError(NO_SESSION));
    const { state } = entry;
    offerRecipient(state, address.address);
    const outcome = await this.runPhase('rcptto', state, { recipient: address.address });
    this.answer(entry, outcome, cb, undefined, () => acceptRecipient(state, address.address));
  }

  private async onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void) {
    const entry = this.sessions.get(session.id);
    const limit = entry?.listener.maxMessageSize ?? this.options.maxMessageSize;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      // Past the SIZE limit keep reading (the client is still sending) but keep nothing.
      if (!stream.sizeExceeded && size + chunk.length <= limit) chunks.push(chunk);
      size += chunk.length;
    });
    await new Promise<void>((resolve) => stream.once('end', resolve));
    if (!entry) return cb(replyError(NO_SESSION));
    const { state } = entry;
    if (stream.sizeExceeded || size > limit) {
      const reply = { code: 552, enhanced: '5.3.4', text: `Message size exceeds the limit of ${limit} bytes` };
      this.log(state, 'data', { reply }, 0);
      return cb(replyError(reply));
    }
    const message = Buffer.concat(chunks);
    const outcome = await this.runPhase('data', state, { message });
    if (outcome.reply && outcome.reply.code >= 400) return this.answer(entry, outcome, cb);
    const plan = outcome.delivery ?? { discard: false, folders: [INBOX], redirects: [] };
    try {
      const ids = await this.deliver(state, plan.message ?? message, plan);
      messageAccepted(state);
      this.options.logger.info(
        { event: 'spool', session: state.id, ids, folders: plan.folders, redirects: plan.redirects, discard: plan.discard || ids.length === 0, bytes: message.length },
        'message accepted',
      );
      this.answer(entry, outcome, cb, undefined, undefined, ids.length ? `Ok: queued as ${ids[0]}` : 'Ok: accepted');
    } catch (e) {
      this.options.logger.error({ event: 'spool-failed', session: state.id, err: (e as Error).message }, 'spool write failed');
      cb(replyError({ code: 451, enhanced: '4.3.0', text: 'Local error in processing, please try again later' }));
    }
  }

  /**
   * Writes one copy per folder (keep and fileinto "INBOX" are one store),
   * and one per redirect with the redirect addresses as recipients. All or
   * nothing: a failure removes the copies already written.
   */
  private async deliver(state: SessionState, message: Buffer, plan: DeliveryPlan): Promise<string[]> {
    if (plan.discard) return [];
    const folders = [...new Set(plan.folders.map((f) => (f.toUpperCase() === INBOX ? INBOX : f)))];
    const recipients = plan.recipients ?? state.recipients;
    const copies: Array<{ folder: string; recipients: string[]; redirect?: boolean }> = recipients.length
      ? folders.map((folder) => ({ folder, recipients }))
      : [];
    if (plan.redirects.length) copies.push({ folder: INBOX, recipients: [...new Set(plan.redirects)], redirect: true });
    const written: SpooledMessage[] = [];
    const id = `${state.id}.${state.messageCount + 1}`;
    try {
      for (const copy of copies) {
        const header = receivedHeader({ ...state, recipients: copy.recipients }, this.hostnameOf(state), id);
        written.push(
          await this.options.spool.deliver(copy.folder, [Buffer.from(header), message], {
            mailFrom: state.mailFrom ?? '',
            recipients: copy.recipients,
            client: { address: state.remoteAddress, port: state.remotePort, helo: state.helo, tls: state.tls, user: state.user },
            verdicts: Object.fromEntries([...state.message].filter(([k]) => k.startsWith('smtp_cbv_'))),
            receivedAt: new Date().toISOString(),
            transaction: id,
            ...(copy.redirect ? { redirect: true } : {}),
          }),
        );
      }
    } catch (e) {
      await this.options.spool.remove(written);
      throw e;
    }
    return written.map((w) => w.id);
  }

  private hostnameOf(state: SessionState): string {
    return this.sessions.get(state.id)?.listener.hostname ?? this.options.hostname;
  }

  private onClose(session: SMTPServerSession) {
    const entry = this.sessions.get(session.id);
    const ip = session.remoteAddress;
    const count = (this.perIp.get(ip) ?? 1) - 1;
    if (count > 0) this.perIp.set(ip, count);
    else this.perIp.delete(ip);
    if (!entry) return;
    this.sessions.delete(session.id);
    this.policy.closeSession?.(entry.state);
  }

  private async runPhase(phase: Phase, state: SessionState, extra: { recipient?: string; message?: Buffer } = {}): Promise<PhaseOutcome> {
    const started = performance.now();
    let outcome: PhaseOutcome;
    try {
      outcome = await this.policy.run({ phase, session: state, ...extra });
    } catch (e) {
      // A policy must not throw; if one does, the client gets a temporary failure, not a hang.
      this.options.logger.error({ event: 'policy-error', phase, session: state.id, err: (e as Error).message }, 'policy failed');
      outcome = { reply: { code: 451, enhanced: '4.3.0', text: 'Temporary policy failure, please try again later' } };
    }
    if (outcome.tarpitMs && outcome.tarpitMs > 0) await sleep(Math.min(outcome.tarpitMs, this.options.maxTarpitMs));
    this.log(state, phase, outcome, performance.now() - started);
    return outcome;
  }

  /** Answers a hook: the policy's error reply, or success (with the policy's text when it gave one). */
  private answer(
    entry: { state: SessionState; conn: Connection; listener: ListenerOptions },
    outcome: PhaseOutcome,
    cb: (err?: Error | null, message?: string) => void,
    onRefused?: () => void,
    onAccepted?: () => void,
    okText?: string,
  ) {
    const reply = outcome.reply;
    if (reply && reply.code >= 400) {
      onRefused?.();
      cb(replyError(reply));
      if (outcome.disconnect && reply.code !== 421) entry.conn.close();
      return;
    }
    onAccepted?.();
    cb(null, okText);
    if (outcome.disconnect) entry.conn.close();
  }

  private log(state: SessionState, phase: Phase, outcome: PhaseOutcome, ms: number) {
    this.options.logger.info(
      {
        event: 'phase',
        session: state.id,
        client: state.remoteAddress,
        phase,
        code: outcome.reply?.code ?? null,
        reply: outcome.reply ? formatReply(outcome.reply) : null,
        disconnect: outcome.disconnect ?? false,
        durationMs: Math.round(ms * 100) / 100,
      },
      `${phase} ${outcome.reply ? outcome.reply.code : 'ok'}`,
    );
  }
}

function newSessionState(session: SMTPServerSession, listener: ListenerOptions): SessionState {
  return openSession({
    id: session.id,
    remoteAddress: session.remoteAddress,
    remotePort: session.remotePort ?? 0,
    localAddress: session.localAddress,
    localPort: session.localPort ?? 0,
    tls: Boolean(session.secure),
    context: listener.contextFor?.(session.remoteAddress),
  });
}

/** A reply as smtp-server's error text: enhanced code on every line, lines joined by LF (split again by `send`). */
export function formatReply(reply: Reply): string {
  return reply.text
    .split(/\r?\n/)
    .map((line) => (reply.enhanced && !ENHANCED.test(line) ? `${reply.enhanced} ${line}` : line))
    .join('\n');
}

function replyError(reply: Reply): Error & { responseCode: number } {
  return Object.assign(new Error(formatReply(reply)), { responseCode: reply.code });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
