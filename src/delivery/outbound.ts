/**
 * Outbound SMTP/LMTP connections (nodemailer's SMTPConnection) and the
 * pool that keeps them open between messages: a connection that finished
 * a transaction cleanly waits idle for the next message to the same host
 * (same port, protocol, TLS mode and EHLO name) for `IDLE_MS`, and carries
 * at most `MAX_USES` messages (Momentum's max_deliveries_per_connection),
 * which spares each message a TCP connection, a greeting and an EHLO.
 */
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { isIP } from 'node:net';
import type { TlsMode } from '../config/index.js';
import type { FileRange } from './file-range.js';
import type { Target } from './routes.js';
import { sevenBit } from './seven-bit.js';

export type SmtpError = Error & { code?: string; response?: string; responseCode?: number; command?: string; recipient?: string; rejectedErrors?: SmtpError[] };

export interface ConnectionOptions {
  lmtp: boolean;
  tls: TlsMode;
  helo: string;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
}

const IDLE_MS = 5000;
const MAX_USES = 100;

/** Where nodemailer keeps the extensions the next hop's EHLO offered: not in its typings, so checked at start-up (assertNodemailerFits). */
const EXTENSIONS = '_supportedExtensions';
const offered = (conn: SMTPConnection): unknown => (conn as unknown as Record<string, unknown>)[EXTENSIONS];

/** Throws when the installed nodemailer lacks what this file relies on (a new version changed it). */
export function assertNodemailerFits(): void {
  if (!Array.isArray(offered(new SMTPConnection({ host: '127.0.0.1', port: 25, logger: false } as SMTPConnection.Options)))) {
    throw new Error(`nodemailer does not have what smtp-cbv relies on (SMTPConnection's ${EXTENSIONS}); check its version against package.json`);
  }
}

export class Outbound {
  private readonly conn: SMTPConnection;
  /** The socket went away or failed: never use again. */
  broken = false;
  uses = 0;
  private onFail: ((err: SmtpError) => void) | null = null;

  constructor(
    readonly key: string,
    target: Target,
    o: ConnectionOptions,
  ) {
    this.conn = new SMTPConnection({
      host: target.address,
      port: target.port,
      name: o.helo,
      lmtp: o.lmtp,
      connectionTimeout: o.connectTimeoutMs,
      greetingTimeout: o.connectTimeoutMs,
      socketTimeout: o.responseTimeoutMs,
      ignoreTLS: o.tls === 'no',
      requireTLS: o.tls === 'required',
      opportunisticTLS: o.tls === 'ifavailable',
      tls: { rejectUnauthorized: false, ...(isIP(target.name) ? {} : { servername: target.name }) },
      logger: false,
    } as SMTPConnection.Options);
    const fail = (err: SmtpError) => {
      this.broken = true;
      const f = this.onFail;
      this.onFail = null;
      f?.(err);
    };
    this.conn.on('error', fail);
    this.conn.on('end', () => fail(Object.assign(new Error('connection closed by the next hop'), { code: 'ECONNECTION' })));
  }

  connect(): Promise<SmtpError | null> {
    return new Promise((resolve) => {
      this.onFail = resolve;
      this.conn.connect((err?: SmtpError) => {
        this.onFail = null;
        resolve(err ?? null);
      });
    });
  }

  /** One transaction; resolves with nodemailer's error or result, never rejects. */
  send(from: string, to: readonly string[], message: Buffer | FileRange): Promise<{ err: SmtpError | null; info?: SMTPConnection.SentMessageInfo }> {
    this.uses++;
    return new Promise((resolve) => {
      let settled = false;
      // From its file, a stream of its own for each transaction: nodemailer pipes it with the socket's backpressure.
      const octets = Buffer.isBuffer(message) ? message : message.size ? message.stream() : Buffer.alloc(0);
      // A next hop without 8BITMIME gets the message in 7 bits (RFC 6152 3, seven-bit.ts).
      const body = (offered(this.conn) as string[]).includes('8BITMIME') ? octets : sevenBit(octets);
      const done = (r: { err: SmtpError | null; info?: SMTPConnection.SentMessageInfo }) => {
        if (settled) return;
        settled = true;
        this.onFail = null;
        // A stream nodemailer refused before reading it (a connection already closed) still holds its file open.
        if (!Buffer.isBuffer(body) && !body.destroyed) body.destroy();
        resolve(r);
      };
      this.onFail = (err) => done({ err });
      // BODY=8BITMIME wherever the next hop offers 8BITMIME (RFC 6152 3): a message may carry 8-bit octets (one
      // received with 8BITMIME, a Latin-1 body), and the parameter says only that it may. nodemailer leaves it out for
      // a next hop that does not offer it, which gets the message converted (above).
      this.conn.send({ from, to: [...to], use8BitMime: true }, body, (err: SmtpError | null, info?: SMTPConnection.SentMessageInfo) => done(err ? { err } : { err: null, info: info! }));
    });
  }

  quit(): void {
    this.broken = true;
    try {
      this.conn.quit();
    } catch {
      // already gone
    }
  }

  close(): void {
    this.broken = true;
    try {
      this.conn.close();
    } catch {
      // already gone
    }
  }
}

export class OutboundPool {
  private readonly idle = new Map<string, Array<{ conn: Outbound; timer: NodeJS.Timeout }>>();
  private idleCount = 0;

  /**
   * `maxIdle`: connections kept at once, every host together (the queue
   * gives Server_Max_Outbound_Connections, so idle connections never
   * outnumber the attempts the server may have in flight).
   */
  constructor(public maxIdle = Infinity) {}

  static key(target: Target, o: ConnectionOptions): string {
    return `${target.address}|${target.port}|${o.lmtp ? 'lmtp' : 'smtp'}|${o.tls}|${o.helo}`;
  }

  /** An idle connection to this host, if one is still open. */
  take(key: string): Outbound | undefined {
    const list = this.idle.get(key);
    while (list?.length) {
      const { conn, timer } = list.pop()!;
      this.idleCount--;
      clearTimeout(timer);
      if (!conn.broken) return conn;
    }
    return undefined;
  }

  /** Keeps a connection that ended its transaction cleanly, or quits it when it has done enough. */
  give(conn: Outbound): void {
    if (conn.broken) return;
    if (conn.uses >= MAX_USES || this.idleCount >= this.maxIdle) {
      conn.quit();
      return;
    }
    const list = this.idle.get(conn.key) ?? [];
    const timer = setTimeout(() => {
      const i = list.findIndex((e) => e.conn === conn);
      if (i >= 0) {
        list.splice(i, 1);
        this.idleCount--;
      }
      if (!list.length) this.idle.delete(conn.key);
      conn.quit();
    }, IDLE_MS);
    timer.unref();
    list.push({ conn, timer });
    this.idleCount++;
    this.idle.set(conn.key, list);
  }

  closeAll(): void {
    for (const list of this.idle.values()) {
      for (const { conn, timer } of list) {
        clearTimeout(timer);
        conn.quit();
      }
    }
    this.idle.clear();
    this.idleCount = 0;
  }

  /** Connections kept open now, every host together. */
  get size(): number {
    return this.idleCount;
  }
}
