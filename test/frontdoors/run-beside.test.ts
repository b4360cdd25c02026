/**
 * `smtp-cbv policy` / `smtp-cbv milter` from a configuration file: the
 * listen address, the deadline that bounds CBV and tarpits, reload, and
 * usage errors.
 */
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { type RunningBeside, startBeside } from '../../src/frontdoors/run-beside.js';
import { MilterClient, playTransaction } from '../helpers/milter-client.js';
import { PolicyClient, rcptRequests } from '../helpers/policy-client.js';

const running: RunningBeside[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop(0);
});

async function configFile(text: string, scripts: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-beside-'));
  for (const [name, body] of Object.entries(scripts)) await writeFile(join(dir, name), body);
  const file = join(dir, 'smtp-cbv.conf');
  await writeFile(file, text);
  return file;
}

const logger = pino({ level: 'silent' });

describe('starting beside an MTA', () => {
  it('the policy service: the deadline cuts the CBV timeout and the tarpit; a reload swaps the scripts', async () => {
    const file = await configFile(
      `Policy_Listener { deadline = 5 }\nsmtp_cbv { timeout = 30 }\nESMTP_Listener { max_tarpit = 60 Listen "127.0.0.1:2525" { } }\nsieve { script "rcptto_phase1" { source = "r.siv" } }\n`,
      { 'r.siv': 'ec_action 550 "5.7.1 first";' },
    );
    const { running: r, diagnostics } = await startBeside('policy', file, { listen: { host: '127.0.0.1', port: 0 }, logger });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    running.push(r!);
    expect(r!.services.cbv?.options.deadlineMs).toBe(5000);
    expect(r!.services.maxTarpitMs).toBe(5000);
    const c = await PolicyClient.open(r!.address.port);
    expect(await c.ask(rcptRequests({ from: 'a@b.test', to: ['c@d.test'], instance: '1' })[0]!)).toBe('550 5.7.1 first');
    await writeFile(join(file, '..', 'r.siv'), 'ec_action 550 "5.7.1 second";');
    await r!.reload();
    expect(r!.services.cbv?.options.deadlineMs).toBe(5000);
    expect(await c.ask(rcptRequests({ from: 'a@b.test', to: ['c@d.test'], instance: '2' })[0]!)).toBe('550 5.7.1 second');
    c.close();
  });

  it('the milter, on the address the configuration names', async () => {
    const probe = await startBeside('milter', await configFile(''), { listen: { host: '127.0.0.1', port: 0 }, logger });
    const port = probe.running!.address.port;
    await probe.running!.stop(0);
    const { running: r } = await startBeside('milter', await configFile(`Milter_Listener { listen = "127.0.0.1:${port}" }\n`), { logger });
    running.push(r!);
    expect(r!.address.port).toBe(port);
    const c = await MilterClient.open(port);
    await c.negotiate();
    const t = await playTransaction(c, { from: 'a@b.test', to: ['c@d.test'], message: 'Subject: x\r\n\r\nx\r\n' });
    expect(t.eom).toEqual([{ kind: 'continue' }]);
    c.close();
  });

  it('the milter empties spool_dir/milter of the files a process that is gone left there, and keeps those of one still running', async () => {
    const file = await configFile('spool_dir = "spool"\n');
    const dir = join(file, '..', 'spool', 'milter');
    await mkdir(dir, { recursive: true });
    // No process has this id (Linux's pid_max is at most 2^22); the parent of this process runs.
    const gone = 'incoming.999999999.1.0badf00d';
    const live = `incoming.${process.ppid}.1.0badf00d`;
    for (const name of [gone, live, 'README']) await writeFile(join(dir, name), 'x');
    const { running: r } = await startBeside('milter', file, { listen: { host: '127.0.0.1', port: 0 }, logger });
    running.push(r!);
    expect((await readdir(dir)).sort()).toEqual(['README', live].sort());
  });

  it('a configuration error starts nothing and names the place', async () => {
    const { running: r, diagnostics } = await startBeside('policy', await configFile('Policy_Listener { deadline = -1 }\n'), { logger });
    expect(r).toBeNull();
    expect(diagnostics[0]?.line).toBe(1);
  });

  it('a bad --listen is a usage error', async () => {
    const io = bufferIO();
    expect(await main(['milter', '--config', await configFile(''), '--listen', 'nowhere'], io)).toBe(64);
    expect(io.stderr).toContain('--listen expects an IP address and port');
  });
});
