/**
 * Isolation between sessions (docs/sieve-interpreter.md, "CPU budget and
 * time slices"): a data-phase script whose match over a large body runs
 * away is stopped at its CPU budget and answered with the runtime_error
 * reply, while another session on the same server goes through from
 * greeting to QUIT in the meantime. The match runs in a worker thread; on
 * the event loop it would hold the other session until the budget ran out.
 *
 * What is asserted is order, not speed: the other session is answered
 * before the runaway one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { policyCompileOptions } from '../../src/policy/compile-options.js';
import { SievePolicy } from '../../src/session/policy.js';
import { matchPool } from '../../src/sieve/match/match-pool.js';
import { compileSieve } from '../../src/sievepp/compile.js';
import { openData, sendMail, startTestServer, type TestServer } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/**
 * 500 patterns over a megabyte: many seconds of matching in one test. Every
 * literal the patterns need ("b", "a ") is in the body, so no literal
 * prefilter (fold-prefilter.ts, re2js's own) can answer without the engine.
 */
const RUNAWAY = `require ["body", "regex"]; if body :raw :regex [${Array.from({ length: 500 }, (_, i) => `"b[an]+a [0-9]{${i + 1}}"`).join(', ')}] { discard; }`;
const BUDGET_MS = 3000;

function policy(script: string): SievePolicy {
  const r = compileSieve(script, { file: 'data.siv', ...policyCompileOptions('data.siv', { phase: 'data' }) });
  if (!r.script) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  return new SievePolicy({ scripts: { data: { phase1: r.script } }, runtimeError: 'fail', limits: { maxCpuMs: BUDGET_MS } });
}

describe('a runaway data script', () => {
  it('is stopped at its CPU budget with the runtime_error reply while another session completes', async () => {
    server = await startTestServer(policy(RUNAWAY), { maxMessageSize: 4 << 20 });
    const line = 'a banana and a papaya are a snack, said Anna at the data bazaar\r\n';
    const heavy = await openData(server);
    const answers: string[] = [];
    const heavyEnd = heavy.command(`From: heavy@sender.test\r\nSubject: big\r\n\r\n${line.repeat((1 << 20) / line.length)}.`).then((r) => {
      answers.push('heavy');
      return r;
    });
    // Wait until the runaway match is in a worker.
    while (matchPool.running === 0 && answers.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(answers).toEqual([]);

    const normal = await sendMail(await server.client(), 'ann@sender.test', ['bob@here.test']);
    answers.push('normal');
    expect(normal.end?.code).toBe(250);

    const end = await heavyEnd;
    expect(answers).toEqual(['normal', 'heavy']);
    // runtime_error = fail (docs/configuration.md): the transaction is refused for now, not accepted half-judged.
    expect(end.text).toBe('451 4.3.0 Temporary policy error, please try again later');
    // The session goes on after the refusal.
    expect((await heavy.command('RSET')).code).toBe(250);
    expect((await heavy.command('QUIT')).code).toBe(221);
  });
});
