/**
 * Recipient call-ahead against real next hops (test/interop/setup.sh starts
 * them): Postfix on 127.0.0.1:$INTEROP_PORT, where alice@vm.test exists and
 * unknown users are refused at RCPT TO, reached through a counting TCP
 * proxy on loopback so that the connections the call-ahead opens can be
 * counted; and Dovecot's LMTP, greeted with LHLO. Never run by `npm test`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/run.js';
import { startOrThrow } from '../helpers/config-server.js';
import { freePort } from '../helpers/free-port.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

const postfixPort = Number(process.env.INTEROP_PORT);
const lmtp = process.env.INTEROP_LMTP;
if (!postfixPort || !lmtp) throw new Error('run me through test/interop/setup.sh (INTEROP_PORT, INTEROP_LMTP)');

/** A TCP proxy on 127.0.0.1 to Postfix that counts the connections it carries. */
interface Proxy {
  port: number;
  connections: number;
  close(): Promise<void>;
}

async function startProxy(port: number): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const proxy: Proxy = { port, connections: 0, close: async () => {} };
  const server: Server = createServer((client) => {
    proxy.connections++;
    const upstream = connect({ host: '127.0.0.1', port: postfixPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  proxy.close = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return proxy;
}

let dir: string;
let running: RunningServer;
let proxy: Proxy;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-interop-rcpt-verify-'));
  proxy = await startProxy(await freePort());
  await writeFile(
    join(dir, 'server.conf'),
    [
      'spool_dir = "spool"',
      'queue_dir = "queue"',
      `Gateway = "127.0.0.1:${proxy.port}"`,
      'Recipient_Verify = true',
      `Domain "lmtp.test" { Gateway = "${lmtp}" Delivery_Method = LMTP }`,
      `ESMTP_Listener { Listen "127.0.0.1:${await freePort()}" { } hostname = "relay.test" }`,
      '',
    ].join('\n'),
  );
  running = await startOrThrow(join(dir, 'server.conf'));
});
afterAll(async () => {
  await running?.stop(0);
  await proxy?.close();
  await rm(dir, { recursive: true, force: true });
});

/** One client: EHLO, MAIL FROM, RCPT TO each recipient; the RCPT replies and the open client. */
async function rcpts(to: string[]): Promise<{ replies: string[]; c: RawSmtpClient }> {
  const c = await RawSmtpClient.open(running.addresses[0]!.port);
  await c.reply();
  await c.command('EHLO client.test');
  expect((await c.command('MAIL FROM:<carol@sender.test>')).code).toBe(250);
  const replies: string[] = [];
  for (const t of to) replies.push((await c.command(`RCPT TO:<${t}>`)).text);
  return { replies, c };
}

async function quit(c: RawSmtpClient): Promise<void> {
  await c.command('QUIT');
  c.close();
}

describe('recipient call-ahead to Postfix', () => {
  it('many clients asking about one recipient at once cost Postfix one connection', async () => {
    const before = proxy.connections;
    const all = await Promise.all(Array.from({ length: 20 }, () => rcpts(['alice@vm.test'])));
    for (const { replies, c } of all) {
      expect(replies[0]).toMatch(/^250 /);
      await quit(c);
    }
    expect(proxy.connections - before).toBe(1);
  });

  it('an existing recipient gets 250 and an unknown one 550 5.1.1 at RCPT TO, with Postfix\'s text, before any DATA', async () => {
    const unknown = `nosuch-${randomBytes(4).toString('hex')}@vm.test`;
    const { replies, c } = await rcpts(['alice@vm.test', unknown]);
    expect(replies[0]).toMatch(/^250 /);
    expect(replies[1]).toMatch(new RegExp(`^550 5\\.1\\.1 <${unknown}>: Recipient address rejected by the next hop \\(.*User unknown`));
    // The accepted one still goes through: DATA is the client's, the call-ahead never sent one.
    expect((await c.command('DATA')).code).toBe(354);
    expect((await c.command('Subject: call-ahead\r\n\r\nhello\r\n.')).code).toBe(250);
    await quit(c);
  });

  it('an LMTP next hop (Dovecot) is asked with LHLO', async () => {
    const { replies, c } = await rcpts(['ann@lmtp.test']);
    expect(replies[0]).toMatch(/^250 /);
    await quit(c);
  });

  it('with the next hop gone, a recipient not in the cache gets 451 4.4.1, one in the cache its cached verdict', async () => {
    await proxy.close();
    const { replies, c } = await rcpts([`new-${randomBytes(4).toString('hex')}@vm.test`, 'alice@vm.test']);
    expect(replies[0]).toMatch(/^451 4\.4\.1 .*the next hop is not reachable/);
    expect(replies[1]).toMatch(/^250 /);
    await quit(c);
  });
});
