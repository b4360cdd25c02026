/**
 * A delivery queue in a temporary directory, configured from configuration
 * text (so the routing options are read as a user writes them), with its
 * log lines collected.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type Config, parseConfigText } from '../../src/config/index.js';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import type { WorkerSlot } from '../../src/ops/worker-slot.js';
import { DeliveryQueue } from '../../src/delivery/queue.js';
import type { NewEntry } from '../../src/delivery/queue-new-entry.js';

export interface LogLine {
  event?: string;
  [k: string]: unknown;
}

export interface QueueFixture {
  dir: string;
  config: Config;
  queue: DeliveryQueue;
  spool: MaildirSpool;
  logs: LogLine[];
  /** Opens the queue again over the same directory (a restart). */
  reopen(): Promise<DeliveryQueue>;
  close(): Promise<void>;
}

export function configFor(text: string, dir: string): Config {
  const loaded = parseConfigText(`queue_dir = "${dir}/queue"\nspool_dir = "${dir}/spool"\n${text}`, join(dir, 'test.conf'));
  if (!loaded.config) throw new Error(loaded.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n'));
  return loaded.config;
}

export async function openQueue(text: string, share?: WorkerSlot): Promise<QueueFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-queue-'));
  const config = configFor(text, dir);
  const logs: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) });
  const spool = new MaildirSpool(config.spoolDir);
  const fixture: QueueFixture = {
    dir,
    config,
    spool,
    logs,
    queue: await DeliveryQueue.open({ config: config.delivery, spool, logger, hostname: 'relay.test', ...(share ? { share } : {}) }),
    async reopen() {
      await fixture.queue.stop(1000);
      fixture.queue = await DeliveryQueue.open({ config: config.delivery, spool, logger, hostname: 'relay.test' });
      return fixture.queue;
    },
    async close() {
      await fixture.queue.stop(1000);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

export function message(from: string, to: string[], body = 'hello', kind: NewEntry['kind'] = 'message'): NewEntry {
  const text = `From: <${from || 'mailer-daemon@x.test'}>\r\nTo: ${to.map((t) => `<${t}>`).join(', ')}\r\nSubject: test\r\nMessage-ID: <m1@sender.test>\r\n\r\n${body}\r\n`;
  return { kind, from, recipients: to.map((address) => ({ address })), message: Buffer.from(text) };
}

/** Polls until `check` is true (the test's timeout bounds the wait). */
export async function until(check: () => boolean | Promise<boolean>, stepMs = 20): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, stepMs));
}

export const events = (logs: LogLine[], event: string) => logs.filter((l) => l.event === event);
