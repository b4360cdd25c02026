/**
 * Remote MTAs for tests, on 127.0.0.1 and a free port:
 *
 * - `startSmtpRemote`: a real `smtp-server` scripted per test (replies at
 *   greeting, MAIL and RCPT; slow greeting; STARTTLS offered; EHLO disabled).
 *   It records every envelope command it accepted or refused, and whether
 *   DATA was ever asked for (a probe must never).
 * - `startRawRemote`: a bare `net` server driven line by line, for what a
 *   well-behaved library cannot do: garbage, a reset mid-reply, over-long
 *   lines, a STARTTLS that breaks the handshake.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface ScriptedReply {
  code: number;
  message: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface SmtpRemoteScript {
  /** Refuse the connection with this greeting (e.g. 554 or 421) instead of 220. */
  greeting?: ScriptedReply;
  /** Hold the 220 greeting this long. */
  greetingDelayMs?: number;
  /** Answer EHLO with 500 (command not recognised), as an RFC 821 server would. */
  disableEhlo?: boolean;
  /** Offer STARTTLS (smtp-server's built-in self-signed certificate). Default off. */
  startTls?: boolean;
  /** The reply to MAIL FROM; undefined = 250. */
  mail?: (address: string, session: SMTPServerSession) => ScriptedReply | undefined;
  /** The reply to RCPT TO; undefined = 250. */
  rcpt?: (address: string, session: SMTPServerSession) => ScriptedReply | undefined;
}

export interface SmtpRemote {
  port: number;
  /** TCP connections accepted. */
  connections: number;
  /** `MAIL <addr>` / `RCPT <addr>` / `DATA`, in order, with `secure` noted on RCPT. */
  log: string[];
  /** True if any client ever sent DATA. */
  sawData: boolean;
  close(): Promise<void>;
}

function fail(r: ScriptedReply): Error & { responseCode: number } {
  return Object.assign(new Error(r.message), { responseCode: r.code });
}

function answer(r: ScriptedReply | undefined, cb: (err?: Error | null) => void): void {
  const go = () => (r && r.code >= 400 ? cb(fail(r)) : cb());
  if (r?.delayMs) setTimeout(go, r.delayMs);
  else go();
}

/** Where a remote listens: 127.0.0.1 and a free port unless a test needs two hosts on one port. */
export interface Listen {
  host?: string;
  port?: number;
}

export async function startSmtpRemote(script: SmtpRemoteScript = {}, at: Listen = {}): Promise<SmtpRemote> {
  const remote: SmtpRemote = { port: 0, connections: 0, log: [], sawData: false, close: async () => {} };
  const server = new SMTPServer({
    logger: false,
    // No reverse DNS of 127.0.0.1: it costs ~100 ms a connection and asks a resolver outside the test.
    disableReverseLookup: true,
    name: 'remote.test',
    authOptional: true,
    disabledCommands: ['AUTH', ...(script.disableEhlo ? ['EHLO'] : []), ...(script.startTls ? [] : ['STARTTLS'])],
    hideSTARTTLS: !script.startTls,
    onConnect(_session, cb) {
      remote.connections++;
      const go = () => (script.greeting ? cb(fail(script.greeting)) : cb());
      if (script.greetingDelayMs) setTimeout(go, script.greetingDelayMs);
      else go();
    },
    onMailFrom(address, session, cb) {
      remote.log.push(`MAIL <${address.address}>`);
      answer(script.mail?.(address.address, session), cb);
    },
    onRcptTo(address, session, cb) {
      remote.log.push(`RCPT <${address.address}>${session.secure ? ' secure' : ''}`);
      answer(script.rcpt?.(address.address, session), cb);
    },
    onData(stream, _session, cb) {
      remote.sawData = true;
      remote.log.push('DATA');
      stream.resume();
      stream.on('end', () => cb());
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(at.port ?? 0, at.host ?? '127.0.0.1', () => resolve());
  });
  remote.port = (server.server.address() as { port: number }).port;
  remote.close = () => new Promise((resolve) => server.close(() => resolve()));
  return remote;
}

/** One connection of the raw remote, as the script sees it. */
export interface RawConnection {
  /** 1 for the first connection, 2 for the second... */
  n: number;
  socket: Socket;
  /** Writes the lines, each with CRLF. */
  send(...lines: string[]): void;
}

export interface RawRemoteScript {
  /** Called on connect; usually sends a greeting. */
  onConnect(c: RawConnection): void;
  /** Called for each command line (without CRLF). Unhandled input is ignored. */
  onLine(line: string, c: RawConnection): void;
}

export interface RawRemote {
  port: number;
  connections: number;
  /** Every line received, prefixed with the connection number: `1 EHLO x`. */
  lines: string[];
  close(): Promise<void>;
}

/**
 * A plain-text SMTP-ish peer. `standardReplies` answers the usual commands
 * with 250 so that a script only overrides what it is about.
 */
export async function startRawRemote(script: RawRemoteScript, at: Listen = {}): Promise<RawRemote> {
  const sockets = new Set<Socket>();
  const remote: RawRemote = { port: 0, connections: 0, lines: [], close: async () => {} };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const c: RawConnection = {
      n: ++remote.connections,
      socket,
      send: (...lines) => {
        if (!socket.destroyed) socket.write(lines.map((l) => `${l}\r\n`).join(''));
      },
    };
    let buf = '';
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        remote.lines.push(`${c.n} ${line}`);
        script.onLine(line, c);
      }
    };
    socket.on('data', onData);
    script.onConnect(c);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port ?? 0, at.host ?? '127.0.0.1', () => resolve());
  });
  remote.port = (server.address() as { port: number }).port;
  remote.close = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return remote;
}

/** The replies of a plain, accepting server: what most raw scripts build on. */
export function standardReply(line: string, c: RawConnection): void {
  const verb = line.split(/[ :]/)[0]?.toUpperCase();
  if (verb === 'EHLO') c.send('250-raw.test', '250 8BITMIME');
  else if (verb === 'QUIT') {
    c.send('221 bye');
    c.socket.end();
  } else if (verb === 'DATA') c.send('554 no DATA from a probe');
  else c.send('250 ok');
}
