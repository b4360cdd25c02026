/**
 * Sieve++ functions that read the session a server keeps, over real
 * sockets from a configuration file: the message's creation time
 * (ec_get_message_creation_time) and the connections open from the
 * client's block (audit_connections_on_listener and _on_service).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startConfig, writeConfig } from '../helpers/config-server.js';
import { freePort } from '../helpers/free-port.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-sievepp-session-'));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await rm(dir, { recursive: true, force: true });
});

async function client(port: number): Promise<RawSmtpClient> {
  const c = await RawSmtpClient.open(port);
  cleanups.push(async () => c.close());
  await c.reply();
  await c.command('EHLO client.test');
  return c;
}

describe('ec_get_message_id and ec_get_message_num_retries', () => {
  it('the id is the transaction the Received field names, the same at RCPT TO and DATA; no retries while it is received', async () => {
    const conf = await writeConfig(dir, {
      rcptto_phase1: '$id = ec_get_message_id;\nif envelope :is "to" "first@here.test" { ec_action 451 "4.7.1 id ${id}"; }\n',
      data_phase1: '$id = ec_get_message_id; $n = ec_get_message_num_retries;\nec_header_add "X-Id" "${id} ${n}";\n',
    });
    const server = await startConfig(conf, cleanups);
    const c = await client(server.addresses[0]!.port);
    expect((await c.command('MAIL FROM:<alice@sender.test>')).code).toBe(250);
    const atRcpt = /id (\S+)$/.exec((await c.command('RCPT TO:<first@here.test>')).text)?.[1];
    expect((await c.command('RCPT TO:<second@here.test>')).code).toBe(250);
    await c.command('DATA');
    expect((await c.command('Subject: t\r\n\r\nhi\r\n.')).code).toBe(250);
    const [file] = await readdir(join(dir, 'spool', 'new'));
    const stored = await readFile(join(dir, 'spool', 'new', file!), 'utf8');
    expect(atRcpt).toBeDefined();
    expect(stored).toContain(`X-Id: ${atRcpt} 0\r\n`);
    expect(stored).toContain(`with ESMTP id ${atRcpt}\r\n`);
  });
});

describe('ec_get_message_creation_time', () => {
  it('is when MAIL FROM made the transaction, in whole seconds, the same in rcptto and data', async () => {
    const made = '$t = ec_get_message_creation_time;\n';
    const conf = await writeConfig(dir, {
      rcptto_phase1: `${made}if envelope :is "to" "first@here.test" { ec_action 451 "4.7.1 made \${t}"; }\n`,
      data_phase1: `${made}ec_action 550 "5.7.1 made \${t}";\n`,
    });
    const server = await startConfig(conf, cleanups);
    const c = await client(server.addresses[0]!.port);
    const before = Math.floor(Date.now() / 1000);
    expect((await c.command('MAIL FROM:<alice@sender.test>')).code).toBe(250);
    const after = Math.floor(Date.now() / 1000);
    const atRcpt = /made (\d+)$/.exec((await c.command('RCPT TO:<first@here.test>')).text)?.[1];
    // A second later still, the time is the transaction's.
    await new Promise((r) => setTimeout(r, 1100));
    await c.command('RCPT TO:<second@here.test>');
    await c.command('DATA');
    const atData = /made (\d+)$/.exec((await c.command('Subject: t\r\n\r\nhi\r\n.')).text)?.[1];
    expect(Number(atRcpt)).toBeGreaterThanOrEqual(before);
    expect(Number(atRcpt)).toBeLessThanOrEqual(after);
    expect(atData).toBe(atRcpt);
  });
});

describe('audit_connections_on_listener and _on_service', () => {
  it("count the connections open from the client's block on its listener and on every listener", async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    await writeFile(join(dir, 'rcpt.siv'), '($l) = audit_connections_on_listener "/32";\n($s) = audit_connections_on_service "/8";\nec_action 451 "4.7.1 ${l} ${s}";\n');
    const conf = join(dir, 'test.conf');
    await writeFile(conf, `spool_dir = "spool"\nESMTP_Listener {\n  Listen "127.0.0.1:${p1}" { }\n  Listen "127.0.0.1:${p2}" { }\n}\nsieve "s" { script "rcptto_phase1" { source = "rcpt.siv" } }\n`);
    await startConfig(conf, cleanups);
    const first = await client(p1);
    const second = await client(p2);
    const third = await client(p1);
    const counts = async (c: RawSmtpClient) => {
      await c.command('MAIL FROM:<alice@sender.test>');
      const text = (await c.command('RCPT TO:<bob@here.test>')).text;
      await c.command('RSET');
      return text;
    };
    expect(await counts(third)).toBe('451 4.7.1 2 3');
    expect(await counts(second)).toBe('451 4.7.1 1 3');
    await first.command('QUIT');
    // The server counts the connection out when it has closed it.
    for (let i = 0; i < 50 && (await counts(third)) !== '451 4.7.1 1 2'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await counts(third)).toBe('451 4.7.1 1 2');
  });
});
