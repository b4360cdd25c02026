/**
 * A dry run of a Momentum configuration plays its Sieve++ services as
 * `serve` does: its datasources (read, never written), its cidr_list tables
 * and ec_log_file (into the run's log, not the file).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../src/config/index.js';
import { bufferIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { dryRun, runCaseFile } from '../../src/runner/index.js';

const DOCS = join(import.meta.dirname, '../../../shared/momentum-docs/scripts');

describe('a dry run of a configuration with Sieve++ services', () => {
  let dir: string;
  let config: Config;
  const rows = () => {
    const db = new Database(join(dir, 'policy.db'), { readonly: true });
    const n = (db.prepare('select count(*) as n from seen').get() as { n: number }).n;
    db.close();
    return n;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smtp-cbv-dry-momentum-'));
    const db = new Database(join(dir, 'policy.db'));
    db.exec("create table blacklist (sender text, deny text); insert into blacklist values ('joe@spam.test', '1'); create table seen (sender text);");
    db.close();
    writeFileSync(join(dir, 'rcpt.siv'), 'require "envelope";\nif allof (envelope :is "to" "b@here.test", check_cidr :ip "192.0.2.1" "nets") { ec_action 451 "4.7.1 listed"; }\n');
    writeFileSync(join(dir, 'data.siv'), 'ds_execute "mssql" "insert into seen values (?)" ["x"];\nec_log_file "policy.log" "seen it";\n');
    writeFileSync(
      join(dir, 'ecelerity.conf'),
      [
        'spool_dir = "spool"',
        'Datasource "mssql" { uri = ( "sqlite:policy.db" ) }',
        'cidr_list "nets" { blocks = ( "192.0.2.0/24" ) }',
        'ESMTP_Listener { Listen "127.0.0.1:2525" { } }',
        `sieve "sieve1" {\n  script "mailfrom_phase1" { source = "${join(DOCS, '049-ds-fetch-blacklist.siv')}" }\n  script "rcptto_phase1" { source = "rcpt.siv" }\n  script "data_phase1" { source = "data.siv" }\n}`,
        '',
      ].join('\n'),
    );
    const loaded = await loadConfig(join(dir, 'ecelerity.conf'));
    expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    config = loaded.config!;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('asks the configured datasource, as serve does', async () => {
    const r = await dryRun({ config, envelope: { from: 'joe@spam.test', to: ['b@here.test'] } });
    const mail = r.phases.find((p) => p.phase === 'mailfrom')!;
    expect(mail.replyText).toBe('550 5.7.1 sender rejected by policy');
    expect(mail.errors).toEqual([]);
  });

  it('finds the configuration’s cidr_list tables', async () => {
    const r = await dryRun({ config, envelope: { from: 'ann@ok.test', to: ['b@here.test'] } });
    const rcpt = r.phases.find((p) => p.phase === 'rcptto')!;
    expect(rcpt.errors).toEqual([]);
    expect(rcpt.replyText).toBe('451 4.7.1 listed');
  });

  it('never writes to a datasource or a log file: the write fails as on a read-only database, the line goes to the run’s log', async () => {
    const r = await dryRun({ config, envelope: { from: 'ann@ok.test', to: ['c@here.test'] }, message: 'From: ann@ok.test\nSubject: hi\n\nhello\n' });
    const data = r.phases.find((p) => p.phase === 'data')!;
    expect(data.replyText).toMatch(/^250 /);
    expect(data.variables.connection.datasource_error).toMatch(/readonly/i);
    expect(data.log).toContain('ec_log_file policy.log: seen it');
    expect(rows()).toBe(0);
    expect(existsSync(join(dir, 'policy.log'))).toBe(false);
  });

  describe('a Datasource whose driver smtp-cbv lacks', () => {
    let pgDir: string;
    beforeAll(() => {
      pgDir = mkdtempSync(join(tmpdir(), 'smtp-cbv-dry-nodriver-'));
      writeFileSync(join(pgDir, 'ecelerity.conf'), `Datasource "mssql" { uri = ( "odbc:DSN=policy" ) }\nsieve "s" { script "mailfrom_phase1" { source = "${join(DOCS, '049-ds-fetch-blacklist.siv')}" } }\n`);
      writeFileSync(join(pgDir, 'cases.yaml'), 'config: ecelerity.conf\ncases:\n  - name: listed sender\n    envelope: { from: joe@spam.test, to: [b@here.test] }\n    expect: { mailfrom: { code: 550 } }\n');
    });
    afterAll(() => rmSync(pgDir, { recursive: true, force: true }));

    it('is named by `run --config` on standard error, with its place, as check and serve name it', async () => {
      const io = bufferIO();
      await main(['run', '--config', join(pgDir, 'ecelerity.conf'), '--from', 'joe@spam.test', '--to', 'b@here.test', '--phase', 'mailfrom'], io);
      expect(io.stderr).toContain(`ecelerity.conf:1:1: warning: Datasource "mssql": datasource driver 'odbc' is not provided by smtp-cbv (it has sqlite, csv, ldap, ldaps, cdb, iowrapper); scripts that query it fail`);
    });

    it('is named in the reason of a case that fails', async () => {
      const report = await runCaseFile(join(pgDir, 'cases.yaml'));
      expect(report.outcomes).toHaveLength(1);
      expect(report.outcomes[0]!.passed).toBe(false);
      expect(report.outcomes[0]!.reason).toContain(`the configuration warned:\n    ${join(pgDir, 'ecelerity.conf')}:1:1: warning: Datasource "mssql": datasource driver 'odbc'`);
    });
  });
});
