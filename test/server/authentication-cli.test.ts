/**
 * SPF, DKIM and DMARC in the server as an operator runs it: `smtp-cbv
 * serve` from bin/smtp-cbv.js, which runs the command-line bundle with
 * its saved code cache (src/cli/bundle-loader.ts). The checks' library is
 * loaded on first use there, and must be: the stored message carries our
 * Authentication-Results with each result.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AuthDns, message, signed, startAuthDns } from '../helpers/auth-zone.js';
import { freePort } from '../helpers/free-port.js';
import { listening, startServe } from '../helpers/serve-process.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let z: AuthDns;
let dir: string;
let server: ChildProcess | undefined;
beforeAll(async () => {
  z = await startAuthDns();
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-auth-cli-'));
});
afterAll(async () => {
  server?.kill('SIGKILL');
  await z.dns.close();
  await rm(dir, { recursive: true, force: true });
});

it('serve checks SPF, DKIM and DMARC and writes their results into the stored message', async () => {
  const port = await freePort();
  const conf = join(dir, 'server.conf');
  await writeFile(
    conf,
    `spool_dir = "spool"\nlogging { level = warn }\nESMTP_Listener { Listen "127.0.0.1:${port}" { } }\n` +
      `spf_v1 { }\ndkim_validate { }\ndmarc { }\nauthentication { authserv_id = "mx.test" dns_servers = ( "${z.dns.address}" ) }\n`,
  );
  server = startServe(conf);
  await listening(server, port);
  const c = await RawSmtpClient.open(port);
  expect((await c.reply()).code).toBe(220);
  await c.command('EHLO client.example.com');
  expect((await c.command('MAIL FROM:<alice@example.com>')).code).toBe(250);
  expect((await c.command('RCPT TO:<bob@here.test>')).code).toBe(250);
  expect((await c.command('DATA')).code).toBe(354);
  const msg = await signed(message('alice@example.com'), 'example.com', z.privateKey);
  expect((await c.command(`${msg.toString('latin1')}.`)).code).toBe(250);
  c.close();
  const [name] = await readdir(join(dir, 'spool', 'new'));
  const stored = await readFile(join(dir, 'spool', 'new', name!), 'utf8');
  const results = stored.slice(0, stored.indexOf('\r\n\r\n')).replace(/\r\n\s+/g, ' ');
  expect(results).toMatch(/Authentication-Results: mx\.test;.*spf=pass/);
  expect(results).toMatch(/dkim=pass/);
  expect(results).toMatch(/dmarc=pass/);
});
