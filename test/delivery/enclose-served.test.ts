/**
 * Enclose served (RFC 5703 6): the message delivered is the enclosed one,
 * while a redirect forwards the message as it was before the enclose
 * ("This action does not affect messages that are forwarded via a
 * redirect action").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RelayServer, startRelayServer } from '../helpers/relay-server.js';

const SCRIPT = `require ["enclose", "copy"];
enclose :subject "Quarantined" :headers ["To"] "This message was enclosed by policy.";
redirect :copy "audit@elsewhere.test";
`;

let relay: RelayServer;
beforeAll(async () => {
  relay = await startRelayServer(SCRIPT);
});
afterAll(async () => {
  await relay?.stop();
});

describe('enclose served', () => {
  it('delivers the enclosed message and redirects the original', async () => {
    const r = await relay.send('alice@sender.test', ['bob@dest.test'], 'From: alice@sender.test\r\nTo: bob@dest.test\r\nSubject: invoice.exe\r\n\r\nrun me\r\n');
    expect(r.end?.code).toBe(250);
    const [kept] = await relay.arrived(relay.gateway, 'bob@dest.test');
    expect(kept!.data).toMatch(/\r\nSubject: Quarantined\r\n/);
    expect(kept!.data).toMatch(/\r\nTo: bob@dest\.test\r\n/);
    expect(kept!.data).toMatch(/\r\nContent-Type: multipart\/mixed; boundary=/);
    expect(kept!.data).toContain('\r\nContent-Type: message/rfc822\r\n\r\nFrom: alice@sender.test\r\n');
    const [copy] = await relay.arrived(relay.gateway, 'audit@elsewhere.test');
    expect(copy!.data).toMatch(/^X-Sieve-Redirected-From: bob@dest\.test\r\nReceived: [^]*\r\nFrom: alice@sender\.test\r\nTo: bob@dest\.test\r\nSubject: invoice\.exe\r\n\r\nrun me\r\n$/);
  });
});
