/**
 * The front doors beside an MTA with message authentication on
 * (docs/authentication.md): both drive the same Session, so the policy
 * service gets SPF at MAIL FROM, and the milter also DKIM/DMARC at end of
 * message, asking the MTA to insert our Authentication-Results and
 * Received-SPF and to delete a forged field claiming our authserv-id.
 */
import { readdir } from 'node:fs/promises';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpFront } from '../../src/frontdoors/tcp-front.js';
import { MessageAuthentication } from '../../src/session/message-authentication.js';
import { type AuthDns, startAuthDns } from '../helpers/auth-zone.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';
import { type MilterClient, playTransaction } from '../helpers/milter-client.js';
import { PolicyClient, rcptRequests } from '../helpers/policy-client.js';
import { negotiatedClient, services, sievePolicy, startMilter, startPolicy } from './fixture.js';

let z: AuthDns;
beforeAll(async () => {
  z = await startAuthDns();
});
afterAll(() => z.dns.close());
const fronts: TcpFront[] = [];
const clients: MilterClient[] = [];
const policyClients: PolicyClient[] = [];
afterEach(async () => {
  for (const c of [...clients.splice(0), ...policyClients.splice(0)]) c.close();
  for (const f of fronts.splice(0)) await f.close(0);
});

function authentication(helo = false) {
  return new MessageAuthentication(
    { spf: { contextVariable: 'spf_status', receivedSpf: true, authResults: true, helo }, dkim: { minKeyBits: 1024, arc: false }, dmarc: true, authservId: 'mx.test', timeoutMs: 5000 },
    z.resolve,
    pino({ level: 'silent' }),
  );
}

describe('policy service with SPF', () => {
  it('the mailfrom script reads spf_status for the client Postfix names', async () => {
    const policy = sievePolicy({ mailfrom: 'if vctx_mess :is "spf_status" "fail" { ec_action 550 "5.7.23 SPF: %{vctx_mess:spf_reason}"; }' });
    const p = await startPolicy(policy, services({ authentication: authentication(true) }));
    fronts.push(p.front);
    const c = await PolicyClient.open(p.port);
    policyClients.push(c);
    expect(await c.ask(rcptRequests({ from: 'x@example.net', to: ['bob@here.test'], instance: '1.1', helo: 'client.example.com' })[0]!)).toBe(
      '550 5.7.23 SPF: mx.test: domain of x@example.net does not designate 127.0.0.1 as permitted sender',
    );
    expect(await c.ask(rcptRequests({ from: 'x@example.com', to: ['bob@here.test'], instance: '1.2', helo: 'client.example.com' })[0]!)).toBe('DUNNO');
  });
});

describe('milter with SPF, DKIM and DMARC', () => {
  it('a DMARC p=reject failure is refused at end of message; a pass gets our header fields inserted and the forged one deleted', async () => {
    const policy = sievePolicy({ data: 'if vctx_mess :is "dmarc_status" "fail" { ec_action 550 "5.7.1 DMARC"; }' });
    const { front, port } = await startMilter(policy, services({ authentication: authentication() }));
    fronts.push(front);
    const open = () => negotiatedClient(port, clients);
    const forged = await playTransaction(await open(), { from: 'x@example.net', to: ['bob@here.test'], message: 'From: ceo@example.net\r\nSubject: pay\r\n\r\nbody\r\n' });
    expect(forged.eom).toEqual([{ kind: 'replycode', text: '550 5.7.1 DMARC' }]);

    const good = await playTransaction(await open(), { from: 'alice@example.com', to: ['bob@here.test'], message: 'Authentication-Results: mx.test; dmarc=pass\r\nFrom: alice@example.com\r\nSubject: hi\r\n\r\nbody\r\n' });
    const eom = good.eom ?? [];
    expect(eom.at(-1)).toEqual({ kind: 'continue' });
    expect(eom[0]).toEqual({ kind: 'chgheader', index: 1, name: 'Authentication-Results', value: '' });
    const inserted = eom.filter((e) => e.kind === 'insheader') as Array<{ kind: 'insheader'; index: number; name: string; value: string }>;
    expect(inserted.map((e) => [e.index, e.name])).toEqual([[0, 'Authentication-Results'], [1, 'Received-SPF']]);
    // Folded with LF alone, as milter header values travel.
    expect(inserted[0]!.value).toMatch(/^ mx\.test;\n\tdkim=none [^\n]*;\n\tspf=pass [^\n]*;\n\tdmarc=pass /);
  });

  const spoolDir = tempDirPerTest('milter-auth-');

  it('a message past the spool threshold, kept in a file, gets our header fields inserted too', async () => {
    const dir = spoolDir();
    const { front, port } = await startMilter(sievePolicy({}), services({ authentication: authentication() }), { maxMessageSize: 1_000_000, messageInMemoryLimit: 64 * 1024, incomingDir: dir });
    fronts.push(front);
    const big = `From: alice@example.com\r\nSubject: big\r\n\r\n${'0123456789abcdef\r\n'.repeat(20_000)}`;
    const t = await playTransaction(await negotiatedClient(port, clients), { from: 'alice@example.com', to: ['bob@here.test'], message: big });
    const eom = t.eom ?? [];
    expect(eom.at(-1)).toEqual({ kind: 'continue' });
    expect(eom.filter((e) => e.kind === 'insheader').map((e) => (e as { name: string }).name)).toEqual(['Authentication-Results', 'Received-SPF']);
    expect(await readdir(dir)).toEqual([]);
  });
});
