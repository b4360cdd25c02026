/**
 * A raw SMTP client over a real socket, for tests that need the exact
 * replies: it sends one command at a time and reads one whole reply
 * (multi-line replies included) per command.
 */
import { connect, type Socket } from 'node:net';

export interface SmtpReply {
  code: number;
  lines: string[];
  /** The reply as received, lines joined with \n. */
  text: string;
}

export class RawSmtpClient {
  private buffer = '';
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffer += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawSmtpClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => resolve(new RawSmtpClient(socket)));
      socket.once('error', reject);
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Reads the next complete reply; rejects if the connection closes first. */
  async reply(): Promise<SmtpReply> {
    for (;;) {
      const parsed = takeReply(this.buffer);
      if (parsed) {
        this.buffer = parsed.rest;
        return parsed.reply;
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Sends a string as UTF-8, or octets as they are (an 8-bit body in another charset). */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async command(line: string): Promise<SmtpReply> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** Resolves once the server has closed the connection. */
  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }

  close(): void {
    this.socket.destroy();
  }
}

function takeReply(buffer: string): { reply: SmtpReply; rest: string } | null {
  const lines: string[] = [];
  let offset = 0;
  for (;;) {
    const end = buffer.indexOf('\r\n', offset);
    if (end < 0) return null;
    const line = buffer.slice(offset, end);
    offset = end + 2;
    lines.push(line);
    if (line[3] !== '-') {
      return { reply: { code: Number(line.slice(0, 3)), lines, text: lines.join('\n') }, rest: buffer.slice(offset) };
    }
  }
}
