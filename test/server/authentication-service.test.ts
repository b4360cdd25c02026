/**
 * The message authentication service across reloads (src/server/
 * authentication-service.ts): created when a module scope appears, the same
 * instance reconfigured in place, its resolver rebuilt only when the DNS
 * settings change, dropped when the modules go; smtp_cbv's DNS servers
 * serve it when the authentication scope names none.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keptByMta } from '../../src/frontdoors/beside-mta.js';
import { reconfigureAuthentication } from '../../src/server/authentication-service.js';
import type { SessionServices } from '../../src/session/session.js';
import { ConnectionState, Transaction } from '../../src/session/state.js';
import { load } from '../config/helpers.js';
import { type AuthDns, startAuthDns } from '../helpers/auth-zone.js';

let z: AuthDns;
beforeAll(async () => {
  z = await startAuthDns();
});
afterAll(() => z.dns.close());

const logger = pino({ level: 'silent' });
const fresh = (): SessionServices => ({ logger, counters: new Map(), functionServices: {}, store: keptByMta, maxTarpitMs: 0 });

async function spfOf(services: SessionServices, from: string): Promise<string | undefined> {
  const c = new ConnectionState({ id: 's', remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 25, tls: false, hostname: 'mx.test', banner: '' });
  c.greeted('EHLO', 'client.example.com');
  const tx = new Transaction(from, 's.1');
  await services.authentication!.mailFrom(c, tx);
  return tx.context.get('spf_status');
}

describe('the authentication service across reloads', () => {
  it('appears with a module scope, is reconfigured in place, and goes with the modules', () => {
    const s = fresh();
    reconfigureAuthentication(s, load('spool_dir = "/tmp/x"'), logger);
    expect(s.authentication).toBeUndefined();

    reconfigureAuthentication(s, load('spf_v1 { }'), logger);
    const first = s.authentication!;
    expect([first.options.spf !== null, first.options.dkim, first.options.dmarc]).toEqual([true, null, false]);
    const firstResolve = first.resolve;

    reconfigureAuthentication(s, load('dmarc { }'), logger);
    expect(s.authentication).toBe(first);
    expect([first.options.dkim, first.options.dmarc]).toEqual([{ minKeyBits: 1024, arc: true }, true]);
    expect(first.resolve).toBe(firstResolve);

    reconfigureAuthentication(s, load('dmarc { }\nauthentication { dns_servers = ( "127.0.0.1:5353" ) }'), logger);
    expect(s.authentication).toBe(first);
    expect(first.resolve).not.toBe(firstResolve);

    reconfigureAuthentication(s, load('spool_dir = "/tmp/x"'), logger);
    expect(s.authentication).toBeUndefined();
  });

  it("asks smtp_cbv's DNS servers when the authentication scope names none, its own when it does", async () => {
    const s = fresh();
    reconfigureAuthentication(s, load(`spf_v1 { }\nsmtp_cbv { dns_servers = ( "${z.dns.address}" ) }`), logger);
    expect(await spfOf(s, 'alice@example.com')).toBe('pass');
    // Its own servers win: nothing answers on port 9, so the look-up fails.
    reconfigureAuthentication(s, load(`spf_v1 { }\nsmtp_cbv { dns_servers = ( "${z.dns.address}" ) }\nauthentication { dns_servers = ( "127.0.0.1:9" )\n dns_timeout = 0.2\n dns_tries = 1 }`), logger);
    expect(await spfOf(s, 'alice@example.com')).toBe('temperror');
  });
});
