/**
 * A Momentum administrator's ecelerity.conf serves: the vendor's documented
 * smtp_cbv and module examples (included from
 * ../shared/momentum-docs/configs, as printed) beside modules smtp-cbv does
 * not provide load with warnings, and the vendor's ec_action example script
 * answers over a real socket (docs/momentum-compatibility.md).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/diagnostics.js';
import { loadConfig } from '../../src/config/index.js';
import { startFromConfig } from '../../src/server/run.js';
import { freePort } from '../helpers/free-port.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

const DOCS = path.resolve('../shared/momentum-docs');
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe.skipIf(!existsSync(DOCS))('an ecelerity.conf with Momentum modules smtp-cbv does not provide (skipped: ../shared/momentum-docs is not beside the clone)', () => {
  it('loads with warnings naming what is ignored, and serves', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-momentum-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const port = await freePort();
    const conf = join(dir, 'ecelerity.conf');
    const docConfig = (f: string) => `include "${join(DOCS, 'configs', f)}"`;
    await writeFile(
      conf,
      [
        docConfig('001-smtp-cbv-module.conf'),
        docConfig('042-sievelib-empty.conf'),
        docConfig('043-spf-macros-empty.conf'),
        'Control_Listener {\n  Listen "/tmp/2025" {}\n}',
        'ec_logger "ec_logger1" { }',
        'spool_dir = "spool"',
        `Esmtp_Listener = {\n  Idle_Time = 120\n  Listen "127.0.0.1:${port}" {\n    SMTP_Extensions = ( "ENHANCEDSTATUSCODES" )\n    Listen_Backlog = 500\n  }\n}`,
        `sieve "sieve1" {\n  script "mailfrom_phase1" { source = "${join(DOCS, 'scripts', '050-ec-action-require.siv')}" }\n  hook "core_final_validation" { source = "/path/to/dkim_sign_script.siv" }\n}`,
        '',
      ].join('\n'),
    );
    const { running, diagnostics } = await startFromConfig(conf, { logger: pino({ level: 'silent' }) });
    expect(diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d))).toEqual([]);
    cleanups.push(() => running!.stop(0));
    const warned = diagnostics.map((d) => d.message).join('\n');
    for (const ignored of ['Control_Listener', 'ec_logger', 'sievelib', 'spf_macros', "'Listen_Backlog'", 'core_final_validation']) {
      expect(warned).toContain(ignored);
    }
    // The vendor's ec_action example (sieve-ref-ec-action.md); %{spfv1:p} is "unknown" without a validated client name.
    const refused = await sendMail(await RawSmtpClient.open(running!.addresses[0]!.port), 'assailant@bad-guy.com', ['b@here.test']);
    expect(refused.mail.text).toBe("550 5.7.1 We don't want mail from unknown");
    const accepted = await sendMail(await RawSmtpClient.open(running!.addresses[0]!.port), '', ['b@here.test']);
    expect(accepted.end?.code).toBe(250);
  });

  // Loaded, not served: their Gateway and Domain scopes route mail, and a test sends nothing off loopback.
  it('loads the routing examples: Gateway and Domain as routes, binding scopes ignored with a warning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-momentum-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const conf = join(dir, 'ecelerity.conf');
    await writeFile(conf, ['040-fallback-binding-domain.conf', '041-gateway-domain.conf'].map((f) => `include "${join(DOCS, 'configs', f)}"`).join('\n'));
    const { config, diagnostics } = await loadConfig(conf);
    expect(diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d))).toEqual([]);
    const warned = diagnostics.map((d) => d.message).join('\n');
    for (const ignored of ['binding', "'message_expiration' in Domain"]) expect(warned).toContain(ignored);
    expect(config!.delivery.routed).toBe(true);
  });

  it("serves a Datasource, a cidr_list and the vendor's ds_fetch example", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-momentum-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(dir, 'policy.db'));
    db.exec("create table blacklist (sender text, deny text); insert into blacklist values ('joe@spam.test', '1');");
    db.close();
    await writeFile(join(dir, 'rcpt.siv'), 'if check_cidr :ip "192.0.2.1" "nets" { ec_action 451 "4.7.1 listed"; }\n');
    const port = await freePort();
    const conf = join(dir, 'ecelerity.conf');
    await writeFile(
      conf,
      [
        'spool_dir = "spool"',
        'Datasource "mssql" { uri = ( "sqlite:policy.db" ) }',
        'cidr_list "nets" { blocks = ( "192.0.2.0/24" ) }',
        `ESMTP_Listener { Listen "127.0.0.1:${port}" { } }`,
        `sieve "sieve1" {\n  script "mailfrom_phase1" { source = "${join(DOCS, 'scripts', '049-ds-fetch-blacklist.siv')}" }\n  script "rcptto_phase1" { source = "rcpt.siv" }\n}`,
        '',
      ].join('\n'),
    );
    const { running, diagnostics } = await startFromConfig(conf, { logger: pino({ level: 'silent' }) });
    expect(diagnostics.map((d) => formatDiagnostic(d))).toEqual([]);
    cleanups.push(() => running!.stop(0));
    const p = running!.addresses[0]!.port;
    expect((await sendMail(await RawSmtpClient.open(p), 'joe@spam.test', ['b@here.test'])).mail.text).toBe('550 5.7.1 sender rejected by policy');
    expect((await sendMail(await RawSmtpClient.open(p), 'ann@ok.test', ['b@here.test'])).rcpts[0]?.text).toBe('451 4.7.1 listed');
  });
});
