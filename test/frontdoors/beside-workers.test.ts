/**
 * `smtp-cbv milter --workers 2` and `smtp-cbv policy --workers 2` as an
 * operator runs them (child processes, docs/postfix.md, "Workers"): one
 * listener answered by two worker processes in turn, SIGHUP reloads every
 * worker, a worker killed with SIGKILL is replaced while the listener keeps
 * answering, and SIGTERM drains every worker and the primary exits 0.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliChild, startCli } from '../helpers/cli-child.js';
import { freePort } from '../helpers/free-port.js';
import { MilterClient, playTransaction } from '../helpers/milter-client.js';
import { PolicyClient, rcptRequests } from '../helpers/policy-client.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-beside-workers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const message = 'Subject: hello\r\n\r\nhi\r\n';

async function milterAnswer(port: number): Promise<unknown> {
  const c = await MilterClient.open(port);
  try {
    await c.negotiate();
    return (await playTransaction(c, { from: 'a@b.test', to: ['c@d.test'], message })).eom;
  } finally {
    c.close();
  }
}

describe('milter --workers 2', () => {
  let port: number;
  let m: CliChild;
  beforeAll(async () => {
    port = await freePort();
    await writeFile(join(dir, 'data.siv'), 'ec_action 550 "5.7.1 first";\n');
    await writeFile(join(dir, 'milter.conf'), `spool_dir = "spool"\nworkers = 1\nMilter_Listener { listen = "127.0.0.1:${port}" }\nsieve { script "data_phase1" { source = "data.siv" } }\n`);
    // --workers overrides the configuration's `workers = 1`.
    m = startCli(['milter', '--config', join(dir, 'milter.conf'), '--workers', '2', '--drain', '5']);
    await m.until('the primary to announce both workers', () => m.events('listening').some((e) => e.role === 'primary' && e.workers === 2), 60_000);
  }, 90_000);
  afterAll(() => {
    if (m.child.exitCode === null) m.child.kill('SIGKILL');
  });

  it('answers on one listener from two worker processes in turn', async () => {
    expect(new Set(m.events('worker-listening').map((e) => e.pid)).size).toBe(2);
    for (let i = 0; i < 4; i++) expect(await milterAnswer(port)).toEqual([{ kind: 'replycode', text: '550 5.7.1 first' }]);
    await m.until('four transaction lines', () => m.events('transaction').length >= 4);
    expect(new Set(m.events('transaction').map((e) => e.worker))).toEqual(new Set([1, 2]));
  }, 60_000);

  it('SIGHUP reloads every worker, one after the other', async () => {
    await writeFile(join(dir, 'data.siv'), 'ec_action 550 "5.7.1 second";\n');
    const before = m.events('reload').filter((e) => e.ok === true).length;
    m.child.kill('SIGHUP');
    await m.until('both workers to reload', () => m.events('reload').filter((e) => e.ok === true).length >= before + 2);
    for (let i = 0; i < 4; i++) expect(await milterAnswer(port)).toEqual([{ kind: 'replycode', text: '550 5.7.1 second' }]);
    // The primary asks the second worker once the first has reloaded (src/ops/rolling-reload.ts). Log
    // lines are written asynchronously by three processes, so their times tell the order, not the output's.
    const asked = m.events('worker-reload');
    expect(asked).toHaveLength(2);
    const firstDone = m.events('reload').filter((e) => e.ok === true && e.worker === asked[0]!.worker).at(-1)!;
    expect(firstDone.time as number).toBeGreaterThanOrEqual(asked[0]!.time as number);
    expect(asked[1]!.time as number).toBeGreaterThanOrEqual(firstDone.time as number);
    expect(asked[1]!.worker).not.toBe(asked[0]!.worker);
  }, 60_000);

  it('a SIGHUP with a broken script reaches no worker: the primary says why, once, and every worker keeps what runs', async () => {
    await writeFile(join(dir, 'data.siv'), 'ec_action 550 "5.7.1 third"\n');
    const asked = m.events('worker-reload').length;
    m.child.kill('SIGHUP');
    await m.until('the primary to refuse the reload', () => m.events('reload').some((e) => e.ok === false && e.role === 'primary'));
    const refusal = m.events('reload').find((e) => e.ok === false)!;
    expect(String((refusal.problems as string[])[0])).toContain(`${join(dir, 'data.siv')}:2:1: error:`);
    expect(m.events('worker-reload')).toHaveLength(asked);
    expect(m.events('reload').filter((e) => e.ok === false)).toHaveLength(1);
    for (let i = 0; i < 2; i++) expect(await milterAnswer(port)).toEqual([{ kind: 'replycode', text: '550 5.7.1 second' }]);
    await writeFile(join(dir, 'data.siv'), 'ec_action 550 "5.7.1 second";\n');
  }, 60_000);

  it('replaces a worker killed with SIGKILL; the listener keeps answering meanwhile', async () => {
    const victim = m.events('worker-listening').at(-1)!.pid as number;
    const listeningBefore = m.events('worker-listening').length;
    const exitsBefore = m.events('worker-exit').length;
    process.kill(victim, 'SIGKILL');
    await m.until('the primary to see the exit', () => m.events('worker-exit').length > exitsBefore);
    for (let i = 0; i < 2; i++) expect(await milterAnswer(port)).toEqual([{ kind: 'replycode', text: '550 5.7.1 second' }]);
    await m.until('a replacement worker', () => m.events('worker-listening').length > listeningBefore);
    expect(m.events('worker-listening').at(-1)!.pid).not.toBe(victim);
  }, 60_000);

  it('SIGTERM drains every worker, then the primary exits 0', async () => {
    const exited = new Promise<number | null>((r) => m.child.once('exit', (code) => r(code)));
    m.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(m.events('stopped').filter((e) => e.frontDoor === 'milter').length).toBeGreaterThanOrEqual(2);
  }, 60_000);
});

describe('policy --workers 2', () => {
  it('answers from two worker processes, and a bad --workers is refused', async () => {
    const port = await freePort();
    await writeFile(join(dir, 'rcptto.siv'), 'ec_action 550 "5.7.1 refused here";\n');
    // At debug, each answer is a policy.reply line of the worker that gave it.
    await writeFile(join(dir, 'policy.conf'), `spool_dir = "spool"\nlogging { level = debug }\nPolicy_Listener { listen = "127.0.0.1:${port}" }\nsieve { script "rcptto_phase1" { source = "rcptto.siv" } }\n`);
    const p = startCli(['policy', '--config', join(dir, 'policy.conf'), '--workers', '2', '--drain', '1']);
    try {
      await p.until('both workers', () => p.events('listening').some((e) => e.role === 'primary' && e.workers === 2), 60_000);
      for (let i = 0; i < 4; i++) {
        const c = await PolicyClient.open(port);
        expect(await c.ask(rcptRequests({ from: 'a@b.test', to: ['c@d.test'], instance: `i${i}` })[0]!)).toBe('550 5.7.1 refused here');
        c.close();
      }
      await p.until('four answers logged', () => p.events('policy.reply').length >= 4);
      expect(new Set(p.events('policy.reply').map((e) => e.worker))).toEqual(new Set([1, 2]));
    } finally {
      const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
      p.child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    const bad = startCli(['policy', '--config', join(dir, 'policy.conf'), '--workers', 'many']);
    expect(await new Promise<number | null>((r) => bad.child.once('exit', (code) => r(code)))).toBe(1);
    expect(bad.out()).toContain("smtp-cbv policy: --workers expects an integer from 1 to 64, found 'many'");
  }, 90_000);
});
