/**
 * The message authentication service across reloads (src/server/
 * authentication-service.ts): created when a module scope appears, the same
 * instance reconfigured in place, its resolver rebuilt only when the DNS
 * settings change, dropped when the modules go; smtp_cbv's DNS servers
 * serve it when the authentication scope names none.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keptByMta } from '../../src/frontdoors/beside-mta.js';
import { reconfigureAuthentication } from '../../src/server/authentication-service.js';
import { startFromConfig } from '../../src/server/run.js';
import type { SessionServices } from '../../src/session/session.js';
import { ConnectionState, Transaction } from '../../src/session/state.js';
import { load } from '../config/helpers.js';
import { type AuthDns, message, startAuthDns } from '../helpers/auth-zone.js';
import { freePort } from '../helpers/free-port.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

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

  it('a server started from a configuration file checks as configured (services.ts wiring)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-auth-'));
    try {
      const port = await freePort();
      await writeFile(join(dir, 'data.siv'), 'if vctx_mess :is "dmarc_status" "fail" { ec_action 550 "5.7.1 DMARC %{vctx_mess:dmarc_policy}"; }\n');
      await writeFile(
        join(dir, 'test.conf'),
        `spool_dir = "spool"\nESMTP_Listener { Listen "127.0.0.1:${port}" { } }\nsieve { script "data_phase1" { source = "data.siv" } }\n` +
          `spf_v1 { }\ndkim_validate { }\ndmarc { }\nauthentication { dns_servers = ( "${z.dns.address}" ) }\n`,
      );
      const r = await startFromConfig(join(dir, 'test.conf'), { logger });
      expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      try {
        const forged = await sendMail(await RawSmtpClient.open(port), 'x@example.net', ['bob@here.test'], message('ceo@example.net').toString());
        expect(forged.end?.code).toBe(550);
        expect(forged.end?.text).toContain('5.7.1 DMARC reject');
        const good = await sendMail(await RawSmtpClient.open(port), 'alice@example.com', ['bob@here.test'], message('alice@example.com').toString());
        expect(good.end?.code).toBe(250);
      } finally {
        await r.running?.stop(0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
