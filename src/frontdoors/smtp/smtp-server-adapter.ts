/**
 * smtp-server as a transport: the one file that knows it. smtp-server does
 * the protocol (command order and syntax, PIPELINING, SIZE, STARTTLS,
 * dot-stuffing); everything it decides for us goes through the events
 * below, and every reply it sends for them is the session's Reply, word
 * for word (so the dry run, which asks the same session, says the same).
 *
 * What smtp-server 3.21 does not offer, and how we get it, each checked at
 * start-up by assertSmtpServerFits():
 *   - no EHLO/HELO or RSET hook: the connection's handler_EHLO, handler_HELO
 *     and handler_RSET are wrapped per connection;
 *   - it words success replies itself ("250 Accepted", its greeting): the
 *     connection's `send` is wrapped and puts the session's reply in place
 *     of the one it answers;
 *   - hooks get its session object, not its connection: found in the
 *     server's `connections` Set;
 *   - ENHANCEDSTATUSCODES is hidden by default: turned on (RFC 2034), and
 *     our replies carry their own codes;
 *   - every connection waits a fixed 100 ms before its greeting (to catch
 *     early talkers): the connection's `init` is replaced, before smtp-server
 *     calls it, by one that waits `greetPauseMs` (default 0, as Postfix's
 *     smtpd without postscreen) and applies our connection cap; a client
 *     that talks before the greeting then gets 554 (RFC 5321 3.1 lets a
 *     server refuse a session with 554) instead of smtp-server's 421;
 *   - QUIT is wrapped so that the front door can release the client's slot
 *     as soon as it is answered, not when the socket's close is processed;
 *   - no way to offer other extensions: keywords the front door serves
 *     (DELIVERBY, RFC 2852) are added to the EHLO answer's list, and the
 *     MAIL FROM parameters smtp-server passes through unchecked (BY=) are
 *     handed to the front door with the address.
 */
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { MessageSource } from '../../session/message-source.js';
import type { EsmtpChange } from '../../session/decide.js';
import { type Reply, replyLines } from '../../session/reply.js';
import { changedKeywords } from './ehlo-keywords.js';
import { IncomingMessage, type IncomingSettings } from '../incoming-message.js';

/** The parts of smtp-server's connection object used here. */
interface Connection {
  id: string;
  session: SMTPServerSession;
  send(code: number, data?: string | string[], context?: string | false): void;
  close(): void;
  handler_EHLO(command: Buffer, callback: () => void): void;
  handler_HELO(command: Buffer, callback: () => void): void;
  handler_RSET(command: Buffer, callback: () => void): void;
  handler_QUIT(command: Buffer, callback: () => void): void;
  init(): void;
  connectionReady(): void;
  _setListeners(callback: () => void): void;
}

const WRAPPED = ['handler_EHLO', 'handler_HELO', 'handler_RSET', 'handler_QUIT', 'send', 'close', 'init', 'connectionReady', '_setListeners'] as const;

/** Throws when the installed smtp-server lacks what this file relies on (a new version changed it). */
export function assertSmtpServerFits(): void {
  const proto = (SMTPConnection as unknown as { prototype: Record<string, unknown> }).prototype;
  const missing = WRAPPED.filter((m) => typeof proto[m] !== 'function');
  const probe = new SMTPServer({ logger: false });
  if (!((probe as unknown as { connections?: unknown }).connections instanceof Set)) missing.push('connections' as never);
  if (missing.length) throw new Error(`smtp-server does not have what smtp-cbv relies on (${missing.join(', ')}); check its version against package.json`);
}

/**
 * Replaces smtp-server's fixed 100 ms wait before each greeting by
 * `greetPauseMs` and applies a cap on open connections. smtp-server adds
 * each new connection to its `connections` Set and calls its init() right
 * after: our init goes in first. Exported so that a benchmark's bare
 * smtp-server baseline can be greeted the same way.
 */
export function controlGreeting(server: SMTPServer, settings: { greetPauseMs: number; maxConnections: number }): void {
  const connections = (server as unknown as { connections: Set<Connection> }).connections;
  const add = connections.add.bind(connections);
  // One function for every connection, called as its method: an idle connection holds no closure of ours.
  function init(this: Connection) {
    this.send = sendEarlyTalker;
    this._setListeners(() => {
      if (connections.size > settings.maxConnections) {
        this.send(421, '4.3.2 Too many connections, try again later', false);
        return;
      }
      if (settings.greetPauseMs <= 0) return this.connectionReady();
      const timer = setTimeout(() => this.connectionReady(), settings.greetPauseMs);
      timer.unref();
    });
  }
  connections.add = (conn: Connection) => {
    conn.init = init;
    return add(conn);
  };
}

const PROTO = (SMTPConnection as unknown as { prototype: Connection }).prototype;

/** smtp-server's send, but an early talker (only possible before the greeting) gets 554 and the session ends. */
function sendEarlyTalker(this: Connection, code: number, data?: string | string[], context?: string | false): void {
  if (code !== 421 || typeof data !== 'string' || !data.endsWith('You talk too soon')) return PROTO.send.call(this, code, data, context);
  PROTO.send.call(this, 554, '5.5.0 Protocol error: talked before the greeting', false);
  this.close();
}

/** The client as smtp-server saw it connect. */
export interface SmtpClient {
  id: string;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  secure: boolean;
}

/** What to answer: the reply, and whether to close after it. */
export interface Answer {
  reply: Reply;
  disconnect?: boolean;
  /** Wait this long before answering (a tarpit). */
  delayMs?: number;
  /** EHLO: changes to the extension lines, in order (ehlo-keywords.ts). */
  esmtp?: readonly EsmtpChange[];
}

/** The message of a DATA command (in memory or spooled), or how much was sent past the size limit. */
export type DataIn = { message: MessageSource } | { tooBig: number } | { noMemory: true };

export interface SmtpEvents {
  connect(client: SmtpClient): Promise<Answer>;
  hello(id: string, verb: 'EHLO' | 'HELO', domain: string, line: string): Promise<Answer>;
  secured(id: string): void;
  /** `params`: the MAIL FROM parameters by upper-case name (a flag without a value is `true`). */
  mailFrom(id: string, address: string, params: Readonly<Record<string, string | true>>): Promise<Answer>;
  rcptTo(id: string, address: string): Promise<Answer>;
  data(id: string, data: DataIn): Promise<Answer>;
  reset(id: string): void;
  /** The client said QUIT and was answered: it is leaving. */
  quit(id: string): void;
  closed(id: string): void;
}

export interface ListenerSettings {
  hostname: string;
  banner: string;
  maxMessageSize: number;
  tls?: { key: Buffer; cert: Buffer };
  socketTimeoutMs: number;
  /** Wait before the greeting; a client that talks first is refused with 554. 0: greet at once. */
  greetPauseMs: number;
  /** Connections open at once on this listener; the next gets 421 and is closed. */
  maxConnections: number;
  /** Longest a DATA transfer may take, from the 354 to the final dot (RFC 5321 4.5.3.2.6). */
  dataTimeoutMs: number;
  /** Where and how messages being received are kept; its budget is every session's. */
  incoming: IncomingSettings;
  /** Extension keywords to offer in the EHLO answer besides smtp-server's own. */
  ehloKeywords?: string[];
}

/** A listening smtp-server. */
export interface SmtpListener {
  listen(port: number, host: string): Promise<{ host: string; port: number }>;
  /** Stops accepting connections. */
  stopAccepting(): void;
  /** Sends a reply on a connection and closes it (shutdown). */
  closeConnection(id: string, reply: Reply): void;
}

/** The reply the session gave for what smtp-server is about to answer, kept on its connection. */
const PENDING = Symbol('pending reply');
/** The policy's changes to the EHLO answer's extension lines, for the EHLO being answered. */
const ESMTP = Symbol('esmtp changes');
type Tracked = Connection & { [PENDING]?: Reply | undefined; [ESMTP]?: readonly EsmtpChange[] | undefined };

export function createSmtpListener(settings: ListenerSettings, events: SmtpEvents): SmtpListener {
  const tracked = new Map<string, Tracked>();
  const options: SMTPServerOptions = {
    name: settings.hostname,
    banner: settings.banner,
    size: settings.maxMessageSize,
    secure: false,
    hideSTARTTLS: !settings.tls,
    hideENHANCEDSTATUSCODES: false,
    ...(settings.tls ? { key: settings.tls.key, cert: settings.tls.cert } : {}),
    authOptional: true,
    disabledCommands: ['AUTH'],
    disableReverseLookup: true,
    socketTimeout: settings.socketTimeoutMs,
    logger: false,
    onConnect: (session, cb) => void onConnect(session, cb),
    onSecure: (_socket, session, cb) => {
      events.secured(session.id);
      cb();
    },
    onMailFrom: (address, session, cb) => void answer(session, cb, events.mailFrom(session.id, address.address, (address.args || {}) as Record<string, string | true>)),
    onRcptTo: (address, session, cb) => void answer(session, cb, events.rcptTo(session.id, address.address)),
    onData: (stream, session, cb) => void onData(stream, session, cb),
    onClose: (session) => {
      byId.delete(session.id);
      tracked.delete(session.id);
      events.closed(session.id);
    },
  };
  const server = new SMTPServer(options);
  // smtp-server re-emits each connection's socket errors (a client's RST:
  // ECONNRESET, EPIPE) on the server; unheard, the process would end. The
  // connection is closed by smtp-server itself and onClose ends the session.
  server.on('error', () => undefined);
  controlGreeting(server, settings);
  // Hooks get smtp-server's session, whose id is its connection's: found by id, not by a scan.
  const byId = new Map<string, Connection>();
  const connections = (server as unknown as { connections: Set<Connection> }).connections;
  const add = connections.add.bind(connections);
  connections.add = (conn: Connection) => {
    byId.set(conn.id, conn);
    return add(conn);
  };

  async function onConnect(session: SMTPServerSession, cb: (err?: Error | null) => void) {
    const conn = byId.get(session.id);
    const client = { id: session.id, remoteAddress: session.remoteAddress, remotePort: session.remotePort ?? 0, localAddress: session.localAddress, localPort: session.localPort ?? 0, secure: Boolean(session.secure) };
    if (!conn) {
      // Cannot happen with the version assertSmtpServerFits() accepted; refuse rather than serve without a session.
      return cb(replyError({ code: 421, enhanced: '4.3.0', text: 'Internal error: session state lost, try again later' }));
    }
    const t: Tracked = conn;
    tracked.set(session.id, t);
    wrap(t);
    const a = await events.connect(client);
    if (a.delayMs) await delay(a.delayMs);
    // The greeting (or the refusal smtp-server sends for an error) is the session's.
    t[PENDING] = a.reply;
    cb(a.reply.code >= 400 ? replyError(a.reply) : null);
  }

  // The wrappers are this listener's functions, called as the connection's methods (smtp-server calls
  // its handlers and send on the connection): a connection costs a few properties, not a dozen closures.
  function send(this: Tracked, code: number, data?: string | string[], context?: string | false): void {
    const p = this[PENDING];
    if (!p || p.code !== code) return sendEarlyTalker.call(this, code, data, context);
    this[PENDING] = undefined;
    // One line (every reply but EHLO's and a script's of several lines): no arrays made for it.
    if (!Array.isArray(data) && !p.text.includes('\n')) return sendEarlyTalker.call(this, code, p.enhanced ? `${p.enhanced} ${p.text}` : p.text, false);
    const lines = replyLines(p);
    // EHLO (the one answer of several lines): our first line(s), then the extensions smtp-server offers, then ours, as the policy changed them.
    const rest = Array.isArray(data) ? changedKeywords([...data.slice(1), ...(settings.ehloKeywords ?? [])], this[ESMTP]) : [];
    const all = [...lines, ...rest];
    sendEarlyTalker.call(this, code, all.length > 1 ? all : all[0], false);
  }

  function hello(verb: 'EHLO' | 'HELO') {
    const original = PROTO[`handler_${verb}`];
    return function (this: Tracked, command: Buffer, callback: () => void): void {
      const line = command.toString().trim();
      const parts = line.split(/\s+/);
      // Bad syntax is smtp-server's to answer (501), as it always does.
      if (parts.length !== 2) return original.call(this, command, callback);
      void events.hello(this.id, verb, parts[1]!, line).then(async (a) => {
        if (a.delayMs) await delay(a.delayMs);
        if (a.reply.code < 400) {
          this[PENDING] = a.reply;
          this[ESMTP] = a.esmtp;
          original.call(this, command, callback);
          this[PENDING] = undefined;
          this[ESMTP] = undefined;
          if (a.disconnect) this.close();
          return;
        }
        sendEarlyTalker.call(this, a.reply.code, lines(a.reply), false);
        if (a.disconnect && a.reply.code !== 421) this.close();
        callback();
      });
    };
  }
  const handlerEhlo = hello('EHLO');
  const handlerHelo = hello('HELO');
  function handlerRset(this: Tracked, command: Buffer, callback: () => void): void {
    events.reset(this.id);
    PROTO.handler_RSET.call(this, command, callback);
  }
  function handlerQuit(this: Tracked, command: Buffer, callback: () => void): void {
    PROTO.handler_QUIT.call(this, command, callback);
    events.quit(this.id);
  }

  function wrap(t: Tracked) {
    t.send = send;
    t.handler_EHLO = handlerEhlo;
    t.handler_HELO = handlerHelo;
    t.handler_RSET = handlerRset;
    t.handler_QUIT = handlerQuit;
  }

  async function answer(session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void, pending: Promise<Answer>) {
    const a = await pending;
    if (a.delayMs) await delay(a.delayMs);
    const t = tracked.get(session.id);
    if (!t) return cb(replyError(a.reply));
    t[PENDING] = a.reply;
    cb(a.reply.code >= 400 ? replyError(a.reply) : null);
    t[PENDING] = undefined;
    if (a.disconnect && a.reply.code !== 421) t.close();
  }

  async function onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void) {
    // Written to a spool file as it arrives once past the in-memory size (incoming-message.ts),
    // and held against the process's memory budget meanwhile (RFC 3463 4.3.1 when it is spent).
    const incoming = new IncomingMessage(settings.incoming);
    let tooBig = false;
    stream.on('data', (chunk: Buffer) => {
      // Past the SIZE limit keep reading (the client is still sending) but keep nothing.
      if (tooBig || stream.sizeExceeded || incoming.size + chunk.length > settings.maxMessageSize) {
        if (!tooBig) void incoming.discard();
        tooBig = true;
        return;
      }
      if (!incoming.write(chunk)) {
        stream.pause();
        void incoming.drained().then(() => stream.resume());
      }
    });
    // One deadline for the whole transfer, from the 354 to the final dot: a client that
    // trickles its message must not hold the session (and its spool file) for ever.
    let deadline: NodeJS.Timeout | undefined;
    const ended = await new Promise<'end' | 'late' | 'gone'>((resolve) => {
      stream.once('end', () => resolve('end'));
      // The client went away mid-transfer: smtp-server destroys the stream, which never ends.
      stream.once('close', () => resolve('gone'));
      stream.once('error', () => resolve('gone'));
      deadline = setTimeout(() => resolve('late'), settings.dataTimeoutMs);
    });
    clearTimeout(deadline);
    if (ended === 'gone') {
      await incoming.discard();
      return;
    }
    if (ended === 'late') {
      stream.removeAllListeners('data');
      stream.resume();
      await incoming.discard();
      const t = tracked.get(session.id);
      events.reset(session.id);
      t?.send(451, '4.4.2 Message transfer took too long', false);
      t?.close();
      return;
    }
    if (tooBig || stream.sizeExceeded) return answer(session, cb, events.data(session.id, { tooBig: Math.max(incoming.size, stream.byteLength ?? 0) }));
    if (incoming.noMemory) {
      await incoming.discard();
      return answer(session, cb, events.data(session.id, { noMemory: true }));
    }
    let message: MessageSource;
    try {
      message = await incoming.finish();
    } catch {
      // The spool file could not be written (disk full): a temporary failure, as a full disk is (RFC 3463 4.3.1).
      await incoming.discard();
      return answer(session, cb, events.data(session.id, { noMemory: true }));
    }
    // The spool file is removed before the reply: once the client has its answer, nothing of the message is left behind.
    await answer(session, cb, events.data(session.id, { message }).finally(() => message.dispose()));
  }

  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(port, host, () => {
          server.server.off('error', reject);
          const a = server.server.address();
          resolve(a && typeof a === 'object' ? { host: a.address, port: a.port } : { host, port });
        });
      }),
    stopAccepting: () => server.server.close(),
    closeConnection(id, reply) {
      const t = tracked.get(id);
      if (!t) return;
      t.send(reply.code, lines(reply), false);
      t.close();
    },
  };
}

const lines = (reply: Reply): string | string[] => {
  const l = replyLines(reply);
  return l.length > 1 ? l : l[0]!;
};

/** A reply as the error smtp-server's hooks take (its `responseCode` and text). */
function replyError(reply: Reply): Error & { responseCode: number } {
  return Object.assign(new Error(replyLines(reply).join('\n')), { responseCode: reply.code });
}

const delay = (ms: number | undefined) => (ms && ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : undefined);
