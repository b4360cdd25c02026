/**
 * kill -9 while relaying, again and again: the real server process
 * (bin/smtp-cbv.js, as `npm test` builds it) accepts mail from clients and
 * relays it to a next hop in this process; at a random moment it is killed
 * with SIGKILL and started again. In the end every message that got its
 * 250 is delivered (none lost), and a message is delivered twice only when
 * a kill fell between the next hop's 250 and our record of it: with one
 * delivery in flight at a time (Max_Outbound_Connections = 1), at most
 * one message per kill.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { type MailSink, startMailSink } from '../helpers/mail-sink.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'smtp-cbv.js');
const built = existsSync(join(root, 'dist', 'src', 'delivery', 'queue.js'));
const KILLS = 5;

let dir: string;
let sink: MailSink;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-crash-'));
  // A next hop slow enough that kills often land while a delivery is in flight.
  sink = await startMailSink({ delayMs: 15 });
  port = await freePort();
  await writeFile(
    join(dir, 'server.conf'),
    [
      'spool_dir = "spool"',
      'queue_dir = "queue"',
      `Gateway = "127.0.0.1:${sink.port}"`,
      'TLS = no',
      'Max_Outbound_Connections = 1',
      'Retry_Interval = 0.2',
      'retry_jitter = 0',
      `ESMTP_Listener { Listen "127.0.0.1:${port}" { } hostname = "relay.test" }`,
      'logging { level = "warn" }',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await sink?.stop();
  await rm(dir, { recursive: true, force: true });
});

function startServer(): ChildProcess {
  return spawn(process.execPath, [bin, 'serve', '--config', join(dir, 'server.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function listening(): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One client sending messages until the server goes away; returns the tokens that got 250. */
async function client(tag: string, accepted: string[]): Promise<void> {
  for (let n = 0; ; n++) {
    const token = `${tag}-${n}`;
    let c: RawSmtpClient;
    try {
      c = await RawSmtpClient.open(port);
    } catch {
      return;
    }
    try {
      const r = await sendMail(c, 'alice@sender.test', ['bob@dest.test'], `From: alice@sender.test\r\nSubject: crash ${token}\r\n\r\n${token}\r\n`);
      if (r.end?.code === 250) accepted.push(token);
    } catch {
      return;
    } finally {
      c.close();
    }
  }
}

const tokenOf = (data: string) => /Subject: crash (\S+)/.exec(data)?.[1] ?? '?';

describe('kill -9 during relaying', () => {
  it.skipIf(!built)(`loses nothing over ${KILLS} kills, and duplicates at most one message per kill`, async () => {
    const accepted: string[] = [];
    for (let round = 0; round < KILLS; round++) {
      const server = startServer();
      const exited = new Promise((r) => server.once('exit', r));
      await listening();
      const clients = Array.from({ length: 3 }, (_, i) => client(`r${round}c${i}`, accepted));
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 500));
      server.kill('SIGKILL');
      await exited;
      await Promise.all(clients);
    }
    // A last run, left alone, empties the queue.
    const server = startServer();
    const exited = new Promise((r) => server.once('exit', r));
    try {
      await listening();
      const delivered = () => new Set(sink.messages.map((m) => tokenOf(m.data)));
      while (!accepted.every((t) => delivered().has(t))) await new Promise((r) => setTimeout(r, 50));
      while ((await readdir(join(dir, 'queue', 'entries'))).length) await new Promise((r) => setTimeout(r, 50));
    } finally {
      server.kill('SIGTERM');
      await exited;
    }
    const counts = new Map<string, number>();
    for (const m of sink.messages) counts.set(tokenOf(m.data), (counts.get(tokenOf(m.data)) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).reduce((a, n) => a + n - 1, 0);
    console.log(`crash test: ${accepted.length} accepted, ${sink.messages.length} delivered, ${duplicates} duplicate(s) over ${KILLS} kills`);
    expect(accepted.length).toBeGreaterThan(KILLS);
    for (const t of accepted) expect(counts.get(t), `message ${t} was accepted but never delivered`).toBeGreaterThanOrEqual(1);
    // Each kill can add at most one extra delivery (one delivery in flight); the same message may
    // collect extras from two kills when it is again the one in flight, as the oldest entry, after a restart.
    expect(duplicates).toBeLessThanOrEqual(KILLS);
  }, 90_000);
});
