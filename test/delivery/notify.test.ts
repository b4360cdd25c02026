/**
 * Sieve notify (RFC 5435, mailto RFC 5436) served: a rule's notification
 * goes out through the delivery queue from the null sender, beside the
 * message, with RFC 5436's header and loop rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { receivedBy, type RelayServer, startRelayServer } from '../helpers/relay-server.js';

const SCRIPT = `require ["enotify", "variables", "envelope"];
if envelope :matches "to" "*@watched.test" {
  if header :matches "subject" "*" { set :encodeurl "s" "\${1}"; }
  notify :importance "1" :from "filter@watched.test"
    "mailto:ops@watch.test?cc=boss@watch.test&subject=Watched:%20\${s}&X-Rule=watched&From=evil@spoof.test";
}
`;

let relay: RelayServer;
beforeAll(async () => {
  relay = await startRelayServer(SCRIPT);
});
afterAll(async () => {
  await relay?.stop();
});

const send = (from: string, to: string[], body: string) => relay.send(from, to, body);
const arrived = (rcpt: string) => relay.arrived(relay.gateway, rcpt);
const byRecipient = (rcpt: string) => receivedBy(relay.gateway, rcpt);

describe('notify served', () => {
  it('sends the notification to each URI recipient from the null sender, as RFC 5436 composes it', async () => {
    const r = await send('alice@sender.test', ['bob@watched.test'], 'From: alice@sender.test\r\nTo: bob@watched.test\r\nSubject: invoice 7\r\n\r\npay\r\n');
    expect(r.end?.code).toBe(250);
    const [toOps] = await arrived('ops@watch.test');
    const [toBoss] = await arrived('boss@watch.test');
    for (const m of [toOps!, toBoss!]) {
      expect(m.from).toBe('');
      expect(m.data).toMatch(/^Date: .*\r\nMessage-ID: <[0-9a-f]+\.notify@relay\.test>\r\n/);
      expect(m.data).toContain('\r\nFrom: filter@watched.test\r\n');
      expect(m.data).toContain('\r\nSubject: Watched: invoice 7\r\n');
      expect(m.data).toContain('\r\nAuto-Submitted: auto-notified; owner-email="bob@watched.test"\r\n');
      expect(m.data).toContain('\r\nX-Rule: watched\r\n');
      expect(m.data).not.toContain('evil@spoof.test');
    }
    expect(toOps!.data).toBe(toBoss!.data);
    // The message itself still goes on.
    expect(await arrived('bob@watched.test')).toHaveLength(1);
  });

  it('sends no notification about a message that is itself automatic (RFC 5436)', async () => {
    const before = byRecipient('ops@watch.test').length;
    await send('robot@sender.test', ['carol@watched.test'], 'From: robot@sender.test\r\nTo: carol@watched.test\r\nAuto-Submitted: auto-notified\r\nSubject: loop\r\n\r\nx\r\n');
    await arrived('carol@watched.test');
    await new Promise((res) => setTimeout(res, 300));
    expect(byRecipient('ops@watch.test')).toHaveLength(before);
  });
});
