/**
 * One SMTP transaction on a new connection with a 1 KB message, as the
 * accept-rate benchmarks send it (client and server on 127.0.0.1).
 */
import { RawSmtpClient } from '../test/helpers/smtp-client.js';

export const BODY_1K = `From: a@sender.test\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: bench\r\n\r\n${'x'.repeat(76)}\r\n`.padEnd(1024, 'y') + '\r\n';

/** What a benchmark may change about the transaction: the HELO name, the sender, the message. */
export interface MessageShape {
  helo?: string;
  from?: string;
  body?: string;
}

/** True when the message was accepted with 250. */
export async function oneMessage(port: number, rcpt: string, shape: MessageShape = {}): Promise<boolean> {
  const c = await RawSmtpClient.open(port);
  try {
    await c.reply();
    await c.command(`EHLO ${shape.helo ?? 'bench.test'}`);
    if ((await c.command(`MAIL FROM:<${shape.from ?? 'alice@sender.test'}>`)).code !== 250) return false;
    if ((await c.command(`RCPT TO:<${rcpt}>`)).code !== 250) return false;
    if ((await c.command('DATA')).code !== 354) return false;
    const ok = (await c.command(`${shape.body ?? BODY_1K}.`)).code === 250;
    c.write('QUIT\r\n');
    return ok;
  } finally {
    c.close();
  }
}

/** Sends `messages` transactions over `clients` parallel clients; resolves with how many failed. */
export async function sendMany(port: number, rcpt: string, messages: number, clients: number, shape: MessageShape = {}): Promise<number> {
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < messages) {
        next++;
        if (!(await oneMessage(port, rcpt, shape))) failed++;
      }
    }),
  );
  return failed;
}
