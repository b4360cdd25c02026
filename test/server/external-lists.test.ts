/**
 * RFC 6134 lists from the configuration's `List` scopes: inline members and
 * a members file, served to the scripts through the policy's host, and read
 * again on reload (what SIGHUP does). Real server, real sockets.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { parseConfigText } from '../../src/config/index.js';
import { loadExternalLists, parseListFile } from '../../src/policy/external-lists.js';
import { startConfig, writeConfig } from '../helpers/config-server.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-lists-'));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await rm(dir, { recursive: true, force: true });
});

const LISTS = `List "tag:example.com,2024:blocked" { values = ( "Spammer.test" ) file = "blocked.txt" }\nList ":addrbook:default" { }\n`;
const SCRIPT = 'require ["envelope", "extlists"];\nif envelope :domain :list "from" "tag:example.com,2024:blocked" { discard; }\n';

async function delivered(from: string, port: number): Promise<number> {
  const before = (await readdir(join(dir, 'spool', 'new')).catch(() => [])).length;
  const c = await RawSmtpClient.open(port);
  const r = await sendMail(c, from, ['bob@here.test']);
  c.close();
  expect(r.end?.code).toBe(250);
  return (await readdir(join(dir, 'spool', 'new')).catch(() => [])).length - before;
}

describe('List scopes (RFC 6134 lists)', () => {
  it('parse into the configuration, with the file resolved beside it', () => {
    const r = parseConfigText(LISTS, join(dir, 'x.conf'));
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.config!.externalLists!.map(({ declaredAt: _d, ...l }) => l)).toEqual([
      { name: 'tag:example.com,2024:blocked', values: ['Spammer.test'], file: join(dir, 'blocked.txt') },
      { name: ':addrbook:default', values: [], file: null },
    ]);
  });

  it('reads members files one a line, skipping blanks and comments', () => {
    expect(parseListFile('# blocked senders\r\nbad.test\n\n  worse.test  \n#x\n')).toEqual(['bad.test', 'worse.test']);
  });

  it('report a bad list name, one named twice (shorthand and full) and an unreadable file at the scope', async () => {
    const text = 'List "frop:666" { }\nList ":addrbook:x" { }\nList "urn:ietf:params:sieve:addrbook:X" { }\nList ":addrbook:y" { file = "missing.txt" }\n';
    const r = parseConfigText(text, join(dir, 'x.conf'));
    const { lists, diagnostics } = await loadExternalLists(r.config!);
    expect([...lists.keys()]).toEqual(['urn:ietf:params:sieve:addrbook:x']);
    expect(diagnostics.map((d) => `${d.line}: ${d.message.replace(dir, 'DIR')}`)).toEqual([
      '1: List "frop:666": a list name is a URN or tag URI (RFC 6134 2.1), e.g. "tag:example.com,2024:blocked" or ":addrbook:default"',
      '3: List "urn:ietf:params:sieve:addrbook:X": a list of this name is already defined',
      '4: List ":addrbook:y": cannot read DIR/missing.txt (ENOENT)',
    ]);
  });

  it('are what scripts test with :list, and a reload reads the file again', async () => {
    await writeFile(join(dir, 'blocked.txt'), 'blocked.test\n');
    const running = await startConfig(await writeConfig(dir, { rcptto_phase1: SCRIPT }, LISTS), cleanups);
    const port = running.addresses[0]!.port;
    expect(await delivered('a@blocked.test', port)).toBe(0);
    expect(await delivered('a@SPAMMER.test', port)).toBe(0);
    expect(await delivered('a@fine.test', port)).toBe(1);

    await writeFile(join(dir, 'blocked.txt'), 'fine.test\n');
    expect((await running.reload()).filter((d) => d.severity === 'error')).toEqual([]);
    expect(await delivered('a@blocked.test', port)).toBe(1);
    expect(await delivered('a@fine.test', port)).toBe(0);
  });

  it('make redirect :list to an unknown list a configuration error', async () => {
    const script = 'require "extlists";\nredirect :list "tag:example.com,2024:nope";\n';
    await writeFile(join(dir, 'blocked.txt'), '');
    await expect(startConfig(await writeConfig(dir, { data_phase1: script }, LISTS), cleanups)).rejects.toThrow(/unknown list 'tag:example.com,2024:nope'/);
  });

  it('are read by check --config as by serve', async () => {
    await writeFile(join(dir, 'blocked.txt'), '');
    const conf = await writeConfig(dir, { data_phase1: 'require "extlists";\nredirect :list "tag:example.com,2024:nope";\nredirect :list "tag:example.com,2024:blocked";\n' }, LISTS);
    const io = bufferIO();
    expect(await main(['check', '--config', conf], io)).toBe(1);
    expect(io.stdout.trimEnd().split('\n')).toEqual([`${join(dir, 'data_phase1.siv')}:2:16: error: redirect :list: unknown list 'tag:example.com,2024:nope'`]);
  });
});
