/**
 * The runner's promise: a dry run answers what the server answers. The
 * example policy runs in the real server (loopback, with the same CBV
 * stubs standing in for the engine) and in dryRun; the greeting, EHLO's
 * first line and every MAIL, RCPT and end-of-DATA reply must be the same.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig, peerContext } from '../../src/config/index.js';
import { dryRun } from '../../src/runner/dry-run.js';
import { silentLogger } from '../../src/runner/session.js';
import { type CbvStubs, StubVerifier } from '../../src/runner/stubs.js';
import { compileConfigScripts } from '../../src/policy/config-scripts.js';
import { functionServices } from '../../src/policy/functions.js';
import { SievePolicy } from '../../src/session/policy.js';
import { SenderVerification } from '../../src/session/sender-verification.js';
import { sendMail, startTestServer, type TestServer } from '../helpers/server-fixture.js';

const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

const config = async (): Promise<Config> => (await loadConfig(join(import.meta.dirname, '../../examples/smtp-cbv.conf'))).config!;

async function serverReplies(cfg: Config, cbv: CbvStubs, from: string, to: string[], body: string, context: Record<string, string>) {
  const { scripts } = await compileConfigScripts(cfg);
  const c = cfg.smtpCbv!;
  const policy = new SievePolicy({ scripts, runtimeError: cfg.sieve.runtimeError });
  const verifier = new StubVerifier(cbv);
  // As assemble.ts gives the server its name: the listener's hostname (the example sets one).
  const t = await startTestServer(policy, {
    hostname: cfg.listeners[0]!.hostname ?? 'mx.test',
    listeners: [{ host: '127.0.0.1', port: 0, contextFor: (ip) => ({ ...peerContext(cfg.listeners[0]!, ip), ...context }) }],
    services: { cbv: new SenderVerification(verifier, { enabled: c.enabled, phase: c.phase, deadlineMs: 30_000 }, silentLogger), functionServices: functionServices(verifier) },
  });
  servers.push(t);
  const r = await sendMail(await t.client(), from, to, body);
  // EHLO's first line: the extension lines after it are the library's.
  return [r.greeting.text, r.ehlo.text.split('\n')[0]!.replace(/^250-/, '250 '), r.mail.text, ...r.rcpts.map((x) => x.text), ...(r.end ? [r.end.text] : [])];
}

const withOrigin = 'From: a@sender.example\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: t\r\n\r\nhello\r\n';
const scenarios: Array<{ name: string; from: string; to: string[]; cbv: CbvStubs; body?: string; context?: Record<string, string> }> = [
  { name: 'verified sender', from: 'alice@sender.example', to: ['bob@here.example'], cbv: { default: { status: 'pass' } } },
  { name: 'refused sender', from: 'ghost@sender.example', to: ['bob@here.example', 'carol@here.example'], cbv: { default: { status: 'fail', reply: '550 5.1.1 no' } } },
  { name: 'greylisted, tempfail', from: 'grey@sender.example', to: ['bob@here.example'], cbv: { default: { status: 'transient' } } },
  { name: 'greylisted, accept', from: 'grey@sender.example', to: ['bob@here.example'], cbv: { default: { status: 'transient' } }, context: { cbv_transient: 'accept' } },
  { name: 'null sender', from: '', to: ['postmaster@here.example'], cbv: {} },
  { name: '.invalid sender', from: 'x@host.invalid', to: ['bob@here.example'], cbv: {} },
  { name: 'no From or Date', from: 'alice@sender.example', to: ['bob@here.example'], cbv: { default: { status: 'pass' } }, body: 'Subject: x\r\n\r\nbody\r\n' },
];

describe('dry run and server give the same replies', () => {
  for (const s of scenarios) {
    it(s.name, async () => {
      const cfg = await config();
      const body = s.body ?? withOrigin;
      const served = await serverReplies(cfg, s.cbv, s.from, s.to, body, s.context ?? {});
      const run = await dryRun({ config: cfg, connection: { ip: '127.0.0.1', helo: 'client.test' }, envelope: { from: s.from, to: s.to }, message: body, cbv: s.cbv, context: s.context ?? {} });
      const dry = run.phases.map((p) => p.replyText);
      // The queue id is the one thing that differs: the server's names a spooled file.
      const unqueued = (xs: string[]) => xs.map((x) => x.replace(/queued as \S+$/, 'queued as ID'));
      expect(unqueued(dry)).toEqual(unqueued(served));
    });
  }
});
