/**
 * RFC 5703 enclose at the data phase: the spool receives the enclosed
 * message (the session stores the message the script leaves, as with
 * editheader). Real server, real sockets.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startConfig, writeConfig } from '../helpers/config-server.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-enclose-'));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await rm(dir, { recursive: true, force: true });
});

it('stores the enclosed message', async () => {
  const script = 'require "enclose";\nif header :contains "subject" "t" { enclose :subject "Quarantined" "Enclosed by policy."; }\n';
  const running = await startConfig(await writeConfig(dir, { data_phase1: script }), cleanups);
  const c = await RawSmtpClient.open(running.addresses[0]!.port);
  const r = await sendMail(c, 'a@sender.test', ['bob@here.test']);
  c.close();
  expect(r.end?.code).toBe(250);
  const names = await readdir(join(dir, 'spool', 'new'));
  expect(names).toHaveLength(1);
  const text = await readFile(join(dir, 'spool', 'new', names[0]!), 'utf8');
  expect(text).toMatch(/^Subject: Quarantined\r?$/m);
  expect(text).toMatch(/^Content-Type: multipart\/mixed; boundary="enclose-/m);
  expect(text).toContain('Enclosed by policy.');
  expect(text).toMatch(/Content-Type: message\/rfc822\r?\n\r?\nFrom: a@b\.test/);
});
