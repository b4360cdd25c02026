/**
 * Momentum's mail_loop (src/session/mail-loop.ts, docs/server.md "Mail
 * loops"): Received header fields counted at DATA, over real sockets from
 * a configuration file; and the count itself against a plain reading of
 * RFC 5322's field syntax.
 */
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { RunningServer } from '../../src/server/run.js';
import { receivedFields } from '../../src/session/mail-loop.js';
import { startLogged } from '../helpers/config-server.js';
import { freePort } from '../helpers/free-port.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-loop-'));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await rm(dir, { recursive: true, force: true });
});

async function serve(extra: string, data = '', lines: Array<Record<string, unknown>> = []): Promise<RunningServer> {
  await writeFile(join(dir, 'data.siv'), data);
  const conf = join(dir, 'test.conf');
  await writeFile(conf, `spool_dir = "spool"\nESMTP_Listener { Listen "127.0.0.1:${await freePort()}" { } }\n${extra}\nsieve "s" { script "data_phase1" { source = "data.siv" } }\n`);
  return startLogged(conf, cleanups, lines);
}

const hops = (n: number) => Array.from({ length: n }, (_, i) => `Received: from relay${i}.example by relay${i + 1}.example; Mon, 30 Nov 2026 12:00:00 +0000\r\n`).join('');

/** The reply to the end of DATA for a message with `n` Received fields. */
async function send(r: RunningServer, n: number): Promise<string> {
  const c = await RawSmtpClient.open(r.addresses[0]!.port);
  cleanups.push(async () => c.close());
  await c.reply();
  await c.command('EHLO client.test');
  await c.command('MAIL FROM:<alice@sender.test>');
  await c.command('RCPT TO:<bob@here.test>');
  await c.command('DATA');
  return (await c.command(`${hops(n)}From: a@sender.test\r\nSubject: t\r\n\r\nhi\r\n.`)).text;
}

describe('mail_loop', () => {
  it('refuses a message with more Received fields than max_received_headers, 554 5.4.6, and logs the count', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const r = await serve('mail_loop "mail_loop1" { max_received_headers = 3 }', '', lines);
    expect(await send(r, 3)).toMatch(/^250 /);
    expect(await send(r, 4)).toBe('554 5.4.6 Routing loop detected: 4 Received header fields, at most 3');
    expect(lines.filter((l) => l.event === 'transaction').map((l) => [l.outcome, l.mailLoop])).toEqual([['accepted', undefined], ['refused', 4]]);
  });

  it('with a code below 400 accepts it and tells the scripts the count in mail_loop_header_count', async () => {
    const r = await serve('mail_loop { max_received_headers = 3 code = 250 }', 'if vctx_conn :is "mail_loop_header_count" "5" { ec_action 550 "5.4.6 the script saw a loop"; }\n');
    expect(await send(r, 5)).toBe('550 5.4.6 the script saw a loop');
  });

  it('counts nothing without the scope, as Momentum', async () => {
    expect(await send(await serve(''), 40)).toMatch(/^250 /);
  });

  it("loads the scope as Momentum's page writes it (use_ip: test/delivery/routes.test.ts)", async () => {
    const conf = join(dir, 'm.conf');
    await writeFile(conf, 'mail_loop "mail_loop1" {\n  use_ip = true\n  max_received_headers = 32\n}\n');
    const { config, diagnostics } = await loadConfig(conf);
    expect(diagnostics).toEqual([]);
    expect(config!.mailLoop).toEqual({ maxReceivedHeaders: 32, code: 554, useIp: true });
  });
});

describe('receivedFields', () => {
  /** A field starts where a line does not start with white space; its name is what comes before the colon, trailing white space dropped. */
  function reference(head: string): number {
    return head.split('\n').filter((line) => /^received[ \t]*:/i.test(line)).length;
  }
  it('counts the lines that start a Received field, whatever their case or white space before the colon', () => {
    const line = fc.constantFrom('Received: from a', 'received :x', 'RECEIVED\t: y', ' Received: folded', '\tReceived: folded', 'X-Received: no', 'Received no colon', 'Received', 'Received-SPF: pass', 'Subject: Received: not a field name', '');
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), fc.constantFrom('\r\n', '\n'), (lines, eol) => {
        const head = lines.map((l) => `${l}${eol}`).join('');
        expect(receivedFields(Buffer.from(head))).toBe(reference(head));
      }),
    );
  });
});
