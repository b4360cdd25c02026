/**
 * A next hop for delivery tests: a real smtp-server on 127.0.0.1 that keeps
 * every message it accepted, in SMTP or LMTP mode (RFC 2033: one reply per
 * recipient after the message), with scripted refusals per recipient at
 * RCPT TO and after DATA. It can be stopped and started again on the same
 * port ("the next hop is down").
 */
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface SinkMessage {
  from: string;
  to: string[];
  data: string;
  /** The message as received, octet for octet. */
  octets: Buffer;
  /** MAIL FROM's parameters, as smtp-server parsed them (BODY=8BITMIME gives { BODY: '8BITMIME' }). */
  mailParams: Record<string, string>;
  secure: boolean;
}

export interface SinkOptions {
  lmtp?: boolean;
  startTls?: boolean;
  /** Leave 8BITMIME out of the EHLO answer (RFC 6152): a next hop that takes 7-bit messages only. */
  no8BitMime?: boolean;
  /** A refusal at RCPT TO for this recipient: [code, text], or undefined to accept. */
  rcpt?: (address: string) => [number, string] | undefined;
  /** A refusal after DATA for this recipient (LMTP: per recipient; SMTP: the first refusal refuses all). */
  data?: (address: string) => [number, string] | undefined;
  port?: number;
  /** Hold the reply to the message this long (to see concurrency). */
  delayMs?: number;
  /** Messages between their DATA and its reply now, and the most at once: shared by sinks to count across them. */
  inFlight?: { now: number; peak: number };
}

export interface MailSink {
  port: number;
  messages: SinkMessage[];
  /** RCPT TO commands seen, accepted or not. */
  rcpts: string[];
  options: SinkOptions;
  /** Connections open now, and the most ever open at once. */
  active: number;
  peak: number;
  /** Connections accepted in all. */
  connections: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Resolves when `n` messages have arrived (polls; the test's own timeout bounds it). */
  waitFor(n: number): Promise<SinkMessage[]>;
}

const err = (code: number, text: string) => Object.assign(new Error(text), { responseCode: code });

export async function startMailSink(options: SinkOptions = {}): Promise<MailSink> {
  let server: SMTPServer | null = null;
  const sink: MailSink = {
    port: options.port ?? 0,
    messages: [],
    rcpts: [],
    options,
    active: 0,
    peak: 0,
    connections: 0,
    async start() {
      const o = sink.options;
      server = new SMTPServer({
        lmtp: o.lmtp ?? false,
        authOptional: true,
        disabledCommands: o.startTls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
        hide8BITMIME: o.no8BitMime ?? false,
        logger: false,
        onConnect(_s, cb) {
          sink.active++;
          sink.connections++;
          sink.peak = Math.max(sink.peak, sink.active);
          cb();
        },
        onClose() {
          sink.active--;
        },
        onRcptTo(address, _s, cb) {
          sink.rcpts.push(address.address);
          const r = sink.options.rcpt?.(address.address);
          cb(r ? err(r[0], r[1]) : undefined);
        },
        onData(stream, session: SMTPServerSession, cb) {
          const flight = sink.options.inFlight;
          if (flight) flight.peak = Math.max(flight.peak, ++flight.now);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => setTimeout(() => {
            if (flight) flight.now--;
            const to = session.envelope.rcptTo.map((r) => r.address);
            const replies = to.map((a) => sink.options.data?.(a));
            const accepted = to.filter((_, i) => !replies[i]);
            if (accepted.length) {
              const mail = session.envelope.mailFrom;
              const from = mail ? mail.address : '';
              const octets = Buffer.concat(chunks);
              const mailParams = (mail && (mail as { args?: Record<string, string> | false }).args) || {};
              if (!(!o.lmtp && replies.some(Boolean))) sink.messages.push({ from, to: accepted, data: octets.toString('utf8'), octets, mailParams, secure: session.secure });
            }
            if (o.lmtp) return cb(null, replies.map((r) => (r ? err(r[0], r[1]) : 'OK delivered')) as unknown as string);
            const refusal = replies.find(Boolean);
            cb(refusal ? err(refusal[0], refusal[1]) : null, 'OK queued');
          }, sink.options.delayMs ?? 0));
        },
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(sink.port, '127.0.0.1', () => resolve());
      });
      // smtp-server reports a client's connection reset on the server object: a next hop
      // whose client was killed (the crash test) must not take the test process down.
      server.on('error', () => undefined);
      sink.port = (server.server.address() as { port: number }).port;
    },
    async stop() {
      const s = server;
      server = null;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async waitFor(n) {
      while (sink.messages.length < n) await new Promise((r) => setTimeout(r, 20));
      return sink.messages;
    },
  };
  await sink.start();
  return sink;
}
