/**
 * RFC 7352's duplicate test under `serve` (docs/sieve-reference.md, "duplicate"):
 * over real sockets, a data-phase script that discards duplicates keeps
 * one copy of a message sent twice, even across a restart, and a first
 * attempt answered 451 is not recorded, so its retry is delivered (RFC 7352 3).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startConfig, writeConfig } from '../helpers/config-server.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-duplicate-'));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await rm(dir, { recursive: true, force: true });
});

const DATA = [
  'require ["duplicate"];',
  'if duplicate { discard; stop; }',
  'if header :is "x-attempt" "first" { ec_action 451 "4.3.0 try again later"; }',
  '',
].join('\n');

/** One message on a connection of its own; the reply to its final dot. */
async function send(port: number, headers: string): Promise<string> {
  const c = await RawSmtpClient.open(port);
  try {
    await c.reply();
    await c.command('EHLO client.test');
    await c.command('MAIL FROM:<alice@sender.test>');
    await c.command('RCPT TO:<bob@here.test>');
    await c.command('DATA');
    return (await c.command(`${headers}Subject: t\r\n\r\nhello\r\n.`)).text.slice(0, 3);
  } finally {
    c.close();
  }
}

const stored = async () => (await readdir(join(dir, 'spool', 'new')).catch(() => [] as string[])).length;

describe('duplicate under serve', () => {
  it('keeps one copy of a message sent twice; a retry after 451 is no duplicate; no Message-ID, no duplicate', async () => {
    const server = await startConfig(await writeConfig(dir, { data_phase1: DATA }), cleanups);
    const port = server.addresses[0]!.port;
    // Tested, then answered 451: the client sends it again, and that must not be its own duplicate.
    expect(await send(port, 'Message-ID: <a@sender.test>\r\nX-Attempt: first\r\n')).toBe('451');
    expect(await stored()).toBe(0);
    expect(await send(port, 'Message-ID: <a@sender.test>\r\n')).toBe('250');
    expect(await stored()).toBe(1);
    // Delivered once: the same message again is discarded (accepted, not stored).
    expect(await send(port, 'Message-ID:  <a@sender.test> \r\n')).toBe('250');
    expect(await stored()).toBe(1);
    expect(await send(port, 'Message-ID: <b@sender.test>\r\n')).toBe('250');
    expect(await stored()).toBe(2);
    // Without an identifier nothing is a duplicate (RFC 7352 3.1).
    expect(await send(port, '')).toBe('250');
    expect(await send(port, '')).toBe('250');
    expect(await stored()).toBe(4);
  });

  it('still knows a delivered message after a restart (the list is kept in the spool)', async () => {
    const conf = await writeConfig(dir, { data_phase1: DATA });
    const first = await startConfig(conf, cleanups);
    expect(await send(first.addresses[0]!.port, 'Message-ID: <r@sender.test>\r\n')).toBe('250');
    await cleanups.pop()!();
    const second = await startConfig(conf, cleanups);
    expect(await send(second.addresses[0]!.port, 'Message-ID: <r@sender.test>\r\n')).toBe('250');
    expect(await stored()).toBe(1);
  });

  it('tracks :handle apart, and a :seconds 0 test is never a duplicate', async () => {
    const data = [
      'require ["duplicate", "variables", "fileinto"];',
      'if duplicate :handle "list" :header "list-id" { fileinto "seen-list"; }',
      'if duplicate :seconds 0 { fileinto "never"; }',
      '',
    ].join('\n');
    const server = await startConfig(await writeConfig(dir, { data_phase1: data }), cleanups);
    const port = server.addresses[0]!.port;
    for (let i = 0; i < 2; i++) expect(await send(port, 'Message-ID: <c@sender.test>\r\nList-Id: <l.sender.test>\r\n')).toBe('250');
    // The :handle "list" entry is a List-Id's, not the Message-ID's: the second message finds it.
    const folders = (await readdir(join(dir, 'spool'))).filter((f) => f.startsWith('.'));
    expect(folders).toEqual(['.seen-list']);
    expect(await readdir(join(dir, 'spool', '.seen-list', 'new'))).toHaveLength(1);
  });
});
