/**
 * Momentum's listener limits (src/session/limits.ts, docs/server.md):
 * max_recipients_per_message, max_recipients_per_connection and
 * max_receptions_per_connection, over real sockets from a configuration
 * file, and the transaction's log line bounded whatever a client sends.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, peerLimits } from '../../src/config/index.js';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import type { RunningServer } from '../../src/server/run.js';
import { startLogged } from '../helpers/config-server.js';
import { freePort } from '../helpers/free-port.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-limits-'));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await rm(dir, { recursive: true, force: true });
});

/** A configuration with `listener` written inside ESMTP_Listener and `listen` inside its one Listen. */
async function writeConf(listener: string, listen = ''): Promise<string> {
  const conf = join(dir, 'test.conf');
  await writeFile(conf, `spool_dir = "spool"\nESMTP_Listener {\n${listener}\n  Listen "127.0.0.1:${await freePort()}" { ${listen} }\n}\n`);
  return conf;
}

/** Starts `conf`; `lines` receives every log line (JSON) at info and above. */
const serve = (conf: string, lines: Array<Record<string, unknown>> = []) => startLogged(conf, cleanups, lines);

async function greeted(r: RunningServer): Promise<RawSmtpClient> {
  const c = await RawSmtpClient.open(r.addresses[0]!.port);
  cleanups.push(async () => c.close());
  await c.reply();
  await c.command('EHLO client.test');
  return c;
}

/** MAIL FROM, then each RCPT TO; DATA and a message when one was accepted. Replies as "code enhanced". */
async function transaction(c: RawSmtpClient, to: string[]): Promise<string[]> {
  const out = [(await c.command('MAIL FROM:<alice@sender.test>')).text];
  if (!out[0]!.startsWith('250')) return out;
  for (const t of to) out.push((await c.command(`RCPT TO:<${t}>`)).text);
  if (out.some((r, i) => i > 0 && r.startsWith('250'))) {
    out.push((await c.command('DATA')).text);
    out.push((await c.command('Subject: t\r\n\r\nhello\r\n.')).text.slice(0, 9));
  }
  return out;
}

async function storedRecipients(): Promise<string[][]> {
  const names = await readdir(join(dir, 'spool', 'new')).catch(() => [] as string[]);
  const all = await new MaildirSpool(join(dir, 'spool')).envelopes();
  // Shortest first, then by first recipient: two messages of one length are
  // listed in whatever order the directory gives, which is not theirs.
  return names.map((n) => all.get(n)!.recipients).sort((a, b) => a.length - b.length || a[0]!.localeCompare(b[0]!));
}

describe('the options', () => {
  it('load without a warning, per Listen over ESMTP_Listener, max_recipients_per_message 1000 unless set', async () => {
    const { config, diagnostics } = await loadConfig(await writeConf('  max_recipients_per_connection = 7\n  Max_Receptions_Per_Connection = 2', 'max_recipients_per_message = 0'));
    expect(diagnostics).toEqual([]);
    expect(config!.listeners[0]!.limits).toEqual({ recipientsPerMessage: 0, recipientsPerConnection: 7, messagesPerConnection: 2 });
    const plain = await loadConfig(await writeConf(''));
    expect(plain.config!.listeners[0]!.limits).toEqual({ recipientsPerMessage: 1000, recipientsPerConnection: 0, messagesPerConnection: 0 });
  });

  it('a Peer sets its own limits; the most specific range holding the client wins, the rest inherit', async () => {
    const conf = await writeConf(
      '  max_recipients_per_message = 50\n  Peer "10.0.0.0/8" { max_recipients_per_message = 0 }',
      'max_receptions_per_connection = 9 Peer "10.1.0.0/16" { max_recipients_per_connection = 5 }',
    );
    const { config, diagnostics } = await loadConfig(conf);
    expect(diagnostics).toEqual([]);
    const l = config!.listeners[0]!;
    expect(peerLimits(l, '10.1.2.3')).toEqual({ recipientsPerMessage: 50, recipientsPerConnection: 5, messagesPerConnection: 9 });
    expect(peerLimits(l, '10.9.9.9')).toEqual({ recipientsPerMessage: 0, recipientsPerConnection: 0, messagesPerConnection: 9 });
    expect(peerLimits(l, '192.0.2.1')).toEqual({ recipientsPerMessage: 50, recipientsPerConnection: 0, messagesPerConnection: 9 });
  });

  it('a negative limit is an error naming the option', async () => {
    const { diagnostics } = await loadConfig(await writeConf('  max_recipients_per_message = -1'));
    expect(diagnostics[0]).toMatchObject({ severity: 'error', line: 3 });
    expect(diagnostics[0]!.message).toMatch(/max_recipients_per_message/);
  });
});

describe('max_recipients_per_message', () => {
  it("a Peer of the client replaces the Listen's limit", async () => {
    const c = await greeted(await serve(await writeConf('  max_recipients_per_message = 1', 'Peer "127.0.0.0/8" { max_recipients_per_message = 3 }')));
    expect((await transaction(c, ['a@here.test', 'b@here.test', 'c@here.test', 'd@here.test'])).map((r) => r.slice(0, 3))).toEqual(['250', '250', '250', '250', '452', '354', '250']);
  });

  it('answers RCPT TO past it 452 4.5.3 and delivers to those accepted', async () => {
    const c = await greeted(await serve(await writeConf('  max_recipients_per_message = 2')));
    const replies = await transaction(c, ['a@here.test', 'b@here.test', 'c@here.test', 'd@here.test']);
    expect(replies.map((r) => r.slice(0, 9))).toEqual(['250 2.1.0', '250 2.1.5', '250 2.1.5', '452 4.5.3', '452 4.5.3', '354 End d', '250 2.6.0']);
    // The next transaction on the same connection starts counting again.
    expect((await transaction(c, ['e@here.test', 'f@here.test', 'g@here.test'])).map((r) => r.slice(0, 3))).toEqual(['250', '250', '250', '452', '354', '250']);
    expect(await storedRecipients()).toEqual([['a@here.test', 'b@here.test'], ['e@here.test', 'f@here.test']]);
  });
});

describe('per connection', () => {
  it('max_receptions_per_connection: the MAIL FROM after the last message gets 421 4.7.0 and the connection closes', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const running = await serve(await writeConf('  max_receptions_per_connection = 2'), lines);
    const c = await greeted(running);
    for (let i = 0; i < 2; i++) expect((await transaction(c, ['bob@here.test'])).at(-1)).toBe('250 2.6.0');
    expect(await transaction(c, ['bob@here.test'])).toEqual(['421 4.7.0 Too many messages on this connection, please reconnect']);
    await c.waitClosed();
    expect(lines.filter((l) => l.event === 'transaction').map((l) => l.outcome)).toEqual(['accepted', 'accepted', 'refused']);
    // A new connection may send again.
    expect((await transaction(await greeted(running), ['bob@here.test'])).at(-1)).toBe('250 2.6.0');
  });

  it('max_recipients_per_connection: recipients past it get 452 4.5.3, the message goes, the next MAIL FROM gets 421', async () => {
    const c = await greeted(await serve(await writeConf('  max_recipients_per_connection = 3')));
    expect((await transaction(c, ['a@here.test', 'b@here.test'])).map((r) => r.slice(0, 3))).toEqual(['250', '250', '250', '354', '250']);
    expect((await transaction(c, ['c@here.test', 'd@here.test'])).map((r) => r.slice(0, 9))).toEqual(['250 2.1.0', '250 2.1.5', '452 4.5.3', '354 End d', '250 2.6.0']);
    expect((await transaction(c, ['e@here.test']))[0]).toMatch(/^421 4\.7\.0 /);
    await c.waitClosed();
    expect(await storedRecipients()).toEqual([['c@here.test'], ['a@here.test', 'b@here.test']]);
  });
});

describe('the transaction log line', () => {
  it('lists the first 256 phases and counts the rest, however many RCPT TO a client pipelines', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const c = await greeted(await serve(await writeConf('  max_recipients_per_message = 1'), lines));
    c.write('MAIL FROM:<alice@sender.test>\r\n');
    for (let i = 0; i < 300; i++) c.write(`RCPT TO:<r${i}@here.test>\r\n`);
    c.write('RSET\r\n');
    const codes = [];
    for (let i = 0; i < 302; i++) codes.push((await c.reply()).code);
    expect(codes.filter((x) => x === 452)).toHaveLength(299);
    const tx = lines.find((l) => l.event === 'transaction')!;
    expect(tx).toMatchObject({ outcome: 'reset', recipients: ['r0@here.test'], phasesUnlisted: 301 - 256 });
    expect(tx.phases).toHaveLength(256);
  });
});
