/**
 * One SMTP client session for probing: connect to a vetted IP, read replies,
 * send commands one at a time, upgrade with STARTTLS, QUIT. It knows nothing
 * of verdicts (probe.ts decides those) and sends only what it is told to;
 * probe.ts never tells it DATA.
 *
 * Commands go one at a time, never pipelined (RFC 2920 is an option for the
 * client, and a probe gains nothing from it but a harder transcript).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { ReplyParser, sanitise, type RemoteReply } from './reply.js';
import type { CbvReason, TranscriptLine } from './types.js';

/** Why a session operation failed. `tls-failed` never reaches a verdict: the host is retried in clear. */
export type SessionFailure = Extract<
  CbvReason,
  'connect-refused' | 'connect-timeout' | 'connect-error' | 'timeout' | 'connection-lost' | 'protocol-error' | 'reply-too-long'
> | 'tls-failed';

export class SessionError extends Error {
  constructor(
    readonly reason: SessionFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface SessionOptions {
  ip: string;
  port: number;
  localAddress?: string;
  connectTimeoutMs: number;
  maxLineLength: number;
  maxReplyBytes: number;
  /** Called for every line sent and received, and for events. */
  record: (dir: TranscriptLine['dir'], text: string) => void;
}

type Waiter = { resolve: (r: RemoteReply) => void; reject: (e: SessionError) => void };

export class SmtpSession {
  private socket: Socket | TLSSocket;
  private readonly parser: ReplyParser;
  private readonly replies: RemoteReply[] = [];
  private waiter: Waiter | undefined;
  private broken: SessionError | undefined;
  /** Set after a timeout or a broken connection: no QUIT then (docs/cbv.md). */
  private unusable = false;
  private secure = false;
  /** Our own close: the 'close' event that follows is not news. */
  private closing = false;

  private constructor(
    socket: Socket,
    private readonly o: SessionOptions,
  ) {
    this.socket = socket;
    this.parser = new ReplyParser(o.maxLineLength, o.maxReplyBytes);
    this.attach(socket);
  }

  /** Opens a TCP connection to the vetted IP itself (never a name: no second lookup). */
  static open(o: SessionOptions): Promise<SmtpSession> {
    return new Promise((resolve, reject) => {
      o.record('*', `connect ${o.ip}:${o.port}`);
      const socket = netConnect({ host: o.ip, port: o.port, localAddress: o.localAddress });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new SessionError('connect-timeout', `no connection to ${o.ip}:${o.port} within ${o.connectTimeoutMs} ms`));
      }, o.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        o.record('*', 'connected');
        resolve(new SmtpSession(socket, o));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        const reason = err.code === 'ECONNREFUSED' ? 'connect-refused' : 'connect-error';
        reject(new SessionError(reason, `${o.ip}:${o.port}: ${err.code ?? err.message}`));
      });
    });
  }

  get isSecure(): boolean {
    return this.secure;
  }

  /** Waits for the next reply (the greeting, or the reply to a command just sent). */
  read(timeoutMs: number): Promise<RemoteReply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        this.unusable = true;
        this.o.record('*', `timeout after ${timeoutMs} ms`);
        reject(new SessionError('timeout', `no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Sends one command line and waits for its reply. */
  async command(line: string, timeoutMs: number): Promise<RemoteReply> {
    if (this.broken) throw this.broken;
    this.o.record('C', line);
    this.socket.write(`${line}\r\n`);
    return this.read(timeoutMs);
  }

  /**
   * Sends STARTTLS and waits for its reply. A positive reply is the last
   * thing read in clear: anything after it is dropped unparsed (see
   * ReplyParser.haltAfterPositiveReply), so that garbage from a broken peer
   * is not taken for a reply, and `upgrade` must follow.
   */
  startTls(timeoutMs: number): Promise<RemoteReply> {
    this.parser.haltAfterPositiveReply();
    return this.command('STARTTLS', timeoutMs);
  }

  /**
   * RFC 3207: after a 220 to STARTTLS, the TLS handshake on the same socket.
   * Opportunistic TLS (RFC 7435): the certificate is not verified, because a
   * probe that refused unverified TLS would have to fall back to clear text
   * anyway. On failure the connection is gone and the caller retries in clear.
   * The handshake ends at once when the peer closes (a closed socket never
   * completes one); `timeoutMs` only bounds a peer that stays silent.
   */
  upgrade(servername: string, timeoutMs: number): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    plain.removeAllListeners('end');
    this.parser.reset();
    this.replies.length = 0;
    const gone = this.broken ?? (plain.destroyed ? new SessionError('connection-lost', 'connection closed') : undefined);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let secured: TLSSocket | undefined;
      const fail = (why: string) => {
        clearTimeout(timer);
        plain.removeListener('close', onClose);
        this.unusable = true;
        this.broken = new SessionError('tls-failed', why);
        secured?.destroy();
        plain.destroy();
        this.o.record('*', `TLS failed: ${sanitise(why)}`);
        reject(this.broken);
      };
      const onClose = () => fail('connection closed during the TLS handshake');
      if (gone) {
        fail(`${gone.message} before the TLS handshake`);
        return;
      }
      plain.once('close', onClose);
      secured = tlsConnect({
        socket: plain,
        servername: isIP(servername) ? undefined : servername,
        rejectUnauthorized: false,
      });
      timer = setTimeout(() => fail(`no TLS handshake within ${timeoutMs} ms`), timeoutMs);
      secured.once('error', (e) => fail(e.message));
      secured.once('secureConnect', () => {
        if (!secured) return;
        clearTimeout(timer);
        plain.removeListener('close', onClose);
        secured.removeAllListeners('error');
        this.socket = secured;
        this.secure = true;
        this.attach(secured);
        this.o.record('*', `TLS ${secured.getProtocol() ?? ''} ${secured.getCipher()?.name ?? ''}`.trim());
        resolve();
      });
    });
  }

  /**
   * QUIT and a short wait for 221 (RFC 5321 4.1.1.10), then close. Not after a
   * timeout or a broken connection: that peer is not listening anyway, and
   * the client behind us should not wait for it.
   */
  async quit(waitMs: number): Promise<void> {
    if (!this.unusable && !this.broken) {
      try {
        await this.command('QUIT', waitMs);
      } catch {
        // A peer that closes without 221 is common and harmless.
      }
    }
    this.close();
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.onBroken('connection-lost', `connection error: ${err.message}`));
    socket.on('close', () => this.onBroken('connection-lost', 'connection closed by the remote'));
  }

  private onData(chunk: Buffer): void {
    const { replies, failure, detail, discarded } = this.parser.push(chunk);
    if (discarded) this.o.record('*', `dropped ${discarded} bytes sent in clear after the reply to STARTTLS`);
    for (const r of replies) {
      for (const [i, text] of r.lines.entries()) {
        this.o.record('S', sanitise(`${r.code}${i < r.lines.length - 1 ? '-' : ' '}${text}`));
      }
      this.deliver(r);
    }
    if (failure) {
      const why = failure === 'reply-too-long' ? 'reply too long' : `not an SMTP reply: ${detail ?? ''}`;
      this.onBroken(failure, why);
      this.socket.destroy();
    }
  }

  private deliver(r: RemoteReply): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w.resolve(r);
    } else {
      this.replies.push(r);
    }
  }

  private onBroken(reason: SessionFailure, why: string): void {
    if (this.broken || this.closing) return;
    this.unusable = true;
    this.broken = new SessionError(reason, why);
    this.o.record('*', why);
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.broken);
  }
}
