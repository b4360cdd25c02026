/** Verdicts mapped onto the module's context variables and the Sieve function's return. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { contextVariables, sieveReturn } from '../../src/cbv/index.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { oneMx, testEngine } from '../helpers/cbv-fixture.js';
import { startSmtpRemote, type SmtpRemote } from '../helpers/smtp-remote.js';

let dns: TestDnsServer;
let remote: SmtpRemote;
beforeAll(async () => {
  dns = await startDnsServer(oneMx('example.test'));
  remote = await startSmtpRemote({ rcpt: (a) => (a.startsWith('nobody') ? { code: 550, message: '5.1.1 No such user' } : undefined) });
});
afterAll(async () => {
  await dns.close();
  await remote.close();
});

it('sets every smtp_cbv_* variable for a rejected address, result error, status fail', async () => {
  const v = await testEngine(dns, remote.port).verify('nobody@example.test');
  expect(contextVariables(v)).toEqual({
    smtp_cbv_result: 'error',
    smtp_cbv_reason: 'rejected',
    smtp_cbv_stage: 'rcpt',
    smtp_cbv_cached: 'false',
    smtp_cbv_reply: '550 5.1.1 No such user',
    smtp_cbv_host: 'mx.example.test [127.0.0.1]',
  });
  expect(sieveReturn(v)).toEqual(['fail', '550 5.1.1 No such user']);
});

it('leaves smtp_cbv_result unset for the null sender, with reason null-sender', async () => {
  const v = await testEngine(dns, remote.port).verify('<>');
  const vars = contextVariables(v);
  expect(vars).not.toHaveProperty('smtp_cbv_result');
  expect(vars.smtp_cbv_reason).toBe('null-sender');
  expect(sieveReturn(v)[1]).toBe('null sender: nothing to probe');
});

it('says cached "true" on a cache hit', async () => {
  const engine = testEngine(dns, remote.port);
  await engine.verify('alice@example.test');
  expect(contextVariables(await engine.verify('alice@example.test'))).toMatchObject({ smtp_cbv_result: 'pass', smtp_cbv_cached: 'true' });
});
