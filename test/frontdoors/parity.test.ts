/**
 * One case file, four ways in: the example policy's cases
 * (examples/policy/policy.cases.yaml) played by the dry run, and over
 * loopback sockets by the SMTP server, the Postfix policy service and the
 * milter, all over the same Session. Every phase must reach the same
 * decision: accepted, or refused with the same reply. (The policy service
 * sees no message, so it answers up to RCPT.)
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { TcpFront } from '../../src/frontdoors/tcp-front.js';
import { functionServices } from '../../src/policy/functions.js';
import { loadCaseFile } from '../../src/runner/case-file.js';
import { dryRun } from '../../src/runner/dry-run.js';
import { partsFromConfig, silentLogger } from '../../src/runner/session.js';
import { type CbvStubs, StubVerifier } from '../../src/runner/stubs.js';
import { SievePolicy } from '../../src/session/policy.js';
import { SenderVerification } from '../../src/session/sender-verification.js';
import type { MilterResponse } from '../../src/frontdoors/milter/messages.js';
import { MilterClient, playTransaction } from '../helpers/milter-client.js';
import { PolicyClient } from '../helpers/policy-client.js';
import { startTestServer, type TestServer } from '../helpers/server-fixture.js';
import { services, startMilter, startPolicy } from './fixture.js';

const root = join(import.meta.dirname, '../..');
const fronts: TcpFront[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  for (const f of fronts) await f.close(0);
  for (const s of servers) await s.close();
});

const cases = (await loadCaseFile(join(root, 'examples/policy/policy.cases.yaml'))).file!;
const config = (await loadConfig(join(root, 'examples/smtp-cbv.conf'))).config!;
const parts = await partsFromConfig(config);
const policy = new SievePolicy({ scripts: parts.scripts, runtimeError: parts.runtimeError });

/** Session services answering CBV from the case's stubs, as the dry run does. */
function stubServices(cbv: CbvStubs) {
  const verifier = new StubVerifier(cbv);
  return services({ cbv: new SenderVerification(verifier, { ...parts.module, deadlineMs: 30_000 }, silentLogger), functionServices: functionServices(verifier) });
}

type Decision = string; // "accept", or the refusal as the client reads it
const ACCEPT = 'accept';
const fromMilter = (rs: MilterResponse[]): Decision => {
  const r = rs.find((x) => x.kind === 'replycode');
  return r && r.kind === 'replycode' ? r.text.replace(/\r\n/g, '\n').replace(/%%/g, '%') : ACCEPT;
};
const fromReply = (code: number, text: string): Decision => (code < 400 ? ACCEPT : text);

describe('a case file decides the same over dry run, SMTP, policy and milter', () => {
  for (const c of cases.cases) {
    it(c.name, async () => {
      const ip = c.connection.ip ?? '192.0.2.1';
      const helo = c.connection.helo ?? 'client.example';
      const context = { ...parts.contextFor(ip), ...c.context };
      const message = c.message?.replace(/\r?\n/g, '\r\n');
      const { from, to } = c.envelope;

      const dry = await dryRun({ config, connection: c.connection, envelope: c.envelope, ...(message ? { message } : {}), cbv: c.cbv, context: c.context });
      const expected = dry.phases.filter((p) => ['mailfrom', 'rcptto', 'data'].includes(p.phase)).map((p) => (p.accepted ? ACCEPT : p.replyText));

      // SMTP: the server on loopback, its listener context as the config gives it.
      const t = await startTestServer(policy, { listeners: [{ host: '127.0.0.1', port: 0, contextFor: () => context }], services: stubServices(c.cbv) });
      servers.push(t);
      const sc = await t.client();
      await sc.reply();
      await sc.command(`EHLO ${helo}`);
      const smtp: Decision[] = [];
      const mail = await sc.command(`MAIL FROM:<${from}>`);
      smtp.push(fromReply(mail.code, mail.text));
      if (mail.code < 400) {
        for (const r of to) {
          const x = await sc.command(`RCPT TO:<${r}>`);
          smtp.push(fromReply(x.code, x.text));
        }
        if (message && smtp.slice(1).includes(ACCEPT) && (await sc.command('DATA')).code === 354) {
          const end = await sc.command(`${message.replace(/^\./gm, '..')}.`);
          smtp.push(fromReply(end.code, end.text));
        }
      }
      expect(smtp).toEqual(expected);

      // Milter: Postfix's events with the client's address and HELO.
      const m = await startMilter(policy, stubServices(c.cbv), { context });
      fronts.push(m.front);
      const mc = await MilterClient.open(m.port);
      await mc.negotiate();
      const mt = await playTransaction(mc, { client: { address: ip, port: 40000 }, helo, from, to, ...(message ? { message } : {}) });
      mc.close();
      const milter = [fromMilter(mt.mail), ...mt.rcpts.map(fromMilter), ...(mt.eom ? [fromMilter(mt.eom)] : [])];
      expect(milter).toEqual(expected);

      // Policy service: asked at MAIL (smtpd_sender_restrictions), then at each RCPT.
      const p = await startPolicy(policy, stubServices(c.cbv), context);
      fronts.push(p.front);
      const pc = await PolicyClient.open(p.port);
      const base = { client_address: ip, client_port: '40000', server_address: '127.0.0.1', server_port: '25', helo_name: helo, protocol_name: 'ESMTP', sender: from, instance: '1.1' };
      const asked: Decision[] = [await pc.ask({ ...base, protocol_state: 'MAIL' })];
      if (asked[0] === 'DUNNO') for (const r of to) asked.push(await pc.ask({ ...base, protocol_state: 'RCPT', recipient: r }));
      pc.close();
      const policyDecisions = asked.map((a) => (/^[45]\d\d /.test(a) ? a : ACCEPT));
      expect(policyDecisions).toEqual(expected.filter((_, i) => i <= to.length).map((d) => d.split('\n').join('; ')));
    });
  }
});
