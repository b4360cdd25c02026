/**
 * The whole server started from a configuration file, routing every
 * message to a mail sink on loopback (its Gateway), with one DATA-phase
 * script (or scripts by slot, `{ each_rcpt_phase1: "..." }`): for tests of
 * what Sieve actions send through the delivery queue.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningServer } from '../../src/server/run.js';
import { startOrThrow } from './config-server.js';
import { freePort } from './free-port.js';
import { type MailSink, startMailSink } from './mail-sink.js';
import { sendMail } from './server-fixture.js';
import { RawSmtpClient } from './smtp-client.js';

export interface RelayServer {
  running: RunningServer;
  gateway: MailSink;
  port: number;
  send(from: string, to: string[], body: string): ReturnType<typeof sendMail>;
  /** Messages the sink received for this recipient, once there are at least `n`. */
  arrived(sink: MailSink, rcpt: string, n?: number): Promise<MailSink['messages']>;
  stop(): Promise<void>;
}

export const receivedBy = (sink: MailSink, rcpt: string) => sink.messages.filter((m) => m.to.includes(rcpt));

export async function startRelayServer(script: string | Record<string, string>, extraConfig: string[] = [], sink: Parameters<typeof startMailSink>[0] = {}): Promise<RelayServer> {
  const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-relay-'));
  const gateway = await startMailSink(sink);
  const port = await freePort();
  const slots = typeof script === 'string' ? { data_phase1: script } : script;
  for (const [slot, text] of Object.entries(slots)) await writeFile(join(dir, `${slot}.siv`), text);
  await writeFile(
    join(dir, 'server.conf'),
    [
      'spool_dir = "spool"',
      'queue_dir = "queue"',
      `Gateway = "127.0.0.1:${gateway.port}"`,
      'TLS = no',
      ...extraConfig,
      `ESMTP_Listener { Listen "127.0.0.1:${port}" { } hostname = "relay.test" }`,
      `sieve { ${Object.keys(slots).map((slot) => `script "${slot}" { source = "${slot}.siv" }`).join(' ')} }`,
      '',
    ].join('\n'),
  );
  const running = await startOrThrow(join(dir, 'server.conf'));
  return {
    running,
    gateway,
    port,
    async send(from, to, body) {
      const c = await RawSmtpClient.open(port);
      try {
        return await sendMail(c, from, to, body);
      } finally {
        c.close();
      }
    },
    async arrived(sink, rcpt, n = 1) {
      while (receivedBy(sink, rcpt).length < n) await new Promise((r) => setTimeout(r, 20));
      return receivedBy(sink, rcpt);
    },
    async stop() {
      // Not stop(0): that leaves deliveries in flight still writing under queue/ while the
      // directory is removed (ENOTEMPTY). The clients are gone, so the front closes at once;
      // the queue returns as soon as its last delivery has finished writing.
      await running.stop(10_000);
      await gateway.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
