/**
 * Momentum configuration smtp-cbv does not act on loads with warnings that
 * name what is ignored (docs/momentum-compatibility.md); names that are not
 * Momentum's stay errors.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMomentumServices } from '../../src/policy/momentum-services.js';
import { parseConfigText } from '../../src/config/index.js';
import { formatDiagnostic } from '../../src/diagnostics.js';

const loaded = (text: string) => {
  const r = parseConfigText(text, 'test.conf');
  return { config: r.config, diagnostics: r.diagnostics.map((d) => formatDiagnostic(d)) };
};

describe('Momentum configuration smtp-cbv ignores', () => {
  it('a Momentum module or scope is a warning naming it, and the file loads', () => {
    const r = loaded('Control_Listener {\n  Listen "/tmp/2025" {}\n}\nec_logger "x" { }\nBinding "b" { Bind_Address = 10.0.0.1 }');
    expect(r.config).not.toBeNull();
    expect(r.diagnostics).toEqual([
      "test.conf:1:1: warning: Momentum's Control_Listener scope is not provided by smtp-cbv: ignored, with everything inside it",
      "test.conf:4:1: warning: Momentum's ec_logger scope is not provided by smtp-cbv: ignored, with everything inside it",
      "test.conf:5:1: warning: Momentum's Binding scope is not provided by smtp-cbv: ignored, with everything inside it",
    ]);
  });

  it("every module scope of Momentum's reference loads, as a warning when smtp-cbv does not provide it", () => {
    // The scope names the examples of 3-reference-modules-*.md and 4/modules/*.md write.
    const modules = ['adaptive', 'alias', 'antivirus', 'as_logger', 'auth_ds', 'auth_radius', 'av_fsecure', 'beik', 'bounce_classifier', 'bounce_classifier_override', 'bounce_logger', 'brightmail', 'chunk_logger', 'cidrdb', 'clamav', 'cloudmark', 'commtouch_ctasd', 'compress_spool', 'conntrol', 'csapi', 'curfew', 'custom_logger', 'dk_sign', 'dk_validate', 'dkim_sign', 'dkim_validate', 'dnsbuf', 'ec_logger', 'eleven', 'engagement_tracker', 'event_hydrant', 'exim_logger', 'fbl', 'fingerprint', 'ha_proxy_client', 'http_logger', 'ilf_logger', 'imageanalyzer', 'inbound_audit', 'live_bounce_updates', 'mail_loop', 'maildir', 'msg_gen', 'msgc_client', 'msgc_server', 'msgcserver_listener', 'mxip', 'opendkim', 'outbound_smtp_auth', 'pe2_logger', 'persist_io', 'pipe_io', 'pipe_transport', 'postfix_logger', 'reception_timing', 'reception_timing_logger', 'response_transcode', 'sched', 'scriptlet', 'securecreds', 'seedlist', 'senderid', 'sendmail_logger', 'sievelib', 'smtp_auth_proxy', 'smtp_cbv', 'smtp_rcptto_proxy', 'spamassassin', 'spf_macros', 'spf_v1', 'static_routes', 'statp', 'suppress_spool', 'syslog_io', 'url_ripper'];
    for (const m of modules) {
      const r = parseConfigText(`${m} "${m}1" { }\n`, 'test.conf');
      expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), m).toEqual([]);
    }
  });

  it("global options of Momentum's reference load as warnings, at the top level and in a Domain", () => {
    for (const o of ['server_max_file_descriptors = 8192', 'Use_IPv6 = false', 'pidfile = "/var/run/ecelerity.pid"', 'xclient = true', 'rfc2822_max_line_length = 998', 'Keep_Message_Dicts_In_Memory = true']) {
      const r = loaded(`${o}\nDomain "example.com" { ${o} }`);
      expect(r.config, o).not.toBeNull();
      expect(r.diagnostics.map((d) => d.replace(/^test\.conf:\d+:\d+: /, '')), o).toEqual([
        `warning: Momentum's option '${o.split(' ')[0]}' in the top level has no effect in smtp-cbv: ignored`,
        `warning: Momentum's option '${o.split(' ')[0]}' in Domain "example.com" has no effect in smtp-cbv: ignored`,
      ]);
    }
  });

  it('TLS options Momentum allows in a Peer load there as warnings; in a Listen they are ours', () => {
    const r = loaded('ESMTP_Listener {\n  Listen "127.0.0.1:2525" {\n    TLS_Ciphers = "HIGH"\n    Peer "10.0.0.0/8" { TLS_Ciphers = "HIGH" Allow_IP_Literal = true }\n  }\n}');
    expect(r.config?.listeners[0]?.tlsCiphers).toBe('HIGH');
    expect(r.diagnostics).toEqual([
      `test.conf:4:25: warning: Momentum's option 'TLS_Ciphers' in Peer "10.0.0.0/8" has no effect in smtp-cbv: ignored`,
      `test.conf:4:46: warning: Momentum's option 'Allow_IP_Literal' in Peer "10.0.0.0/8" has no effect in smtp-cbv: ignored`,
    ]);
  });

  it('a Momentum option is a warning in its place; a typo is still an error', () => {
    expect(loaded('Generate_Bounces = true').diagnostics).toEqual(["test.conf:1:1: warning: Momentum's option 'Generate_Bounces' in the top level has no effect in smtp-cbv: ignored"]);
    expect(loaded('Domain "example.com" { Max_Retries = 3 }').diagnostics).toEqual([`test.conf:1:24: warning: Momentum's option 'Max_Retries' in Domain "example.com" has no effect in smtp-cbv: ignored`]);
    expect(loaded('ESMTP_Listener { Listen ":25" { Listen_Backlog = 500 } }').diagnostics).toEqual([
      `test.conf:1:33: warning: Momentum's option 'Listen_Backlog' in Listen ":25" has no effect in smtp-cbv: ignored`,
    ]);
    expect(loaded('Datasource "csv" {\n  uri = ( "csv:" )\n  pool = "IO"\n  serialized = false\n  connection_cache_size = 4\n}').diagnostics).toEqual([
      `test.conf:3:3: warning: Momentum's option 'pool' in Datasource "csv" has no effect in smtp-cbv: ignored`,
      `test.conf:4:3: warning: Momentum's option 'serialized' in Datasource "csv" has no effect in smtp-cbv: ignored`,
      `test.conf:5:3: warning: option 'connection_cache_size' in Datasource "csv" has no effect: only the ldap: driver keeps connections`,
    ]);
    const typo = loaded('Gatewy = 10.10.10.50');
    expect(typo.config).toBeNull();
    expect(typo.diagnostics[0]).toMatch(/error: unknown option 'Gatewy'/);
  });

  it("a script for a Momentum phase smtp-cbv does not run is a warning and is skipped", () => {
    const r = loaded('sieve { script set_binding_phase1 { source = a } script accept_phase1 { source = b } }');
    expect(r.config?.sieve.scripts).toEqual([]);
    expect(r.diagnostics).toEqual([
      `test.conf:1:16: warning: phase 'set_binding' is a Momentum phase smtp-cbv does not run: the script "set_binding_phase1" is ignored`,
      `test.conf:1:57: warning: phase 'accept' is a Momentum phase smtp-cbv does not run: the script "accept_phase1" is ignored`,
    ]);
  });

  it('sieve hooks load and are named as never running', () => {
    const r = loaded('sieve "sieve1" {\n  hook "core_final_validation" { source = "/x.siv" async = "false" }\n  hook:delay_dsn_send_notification [ script = "/y.siv" ]\n}');
    expect(r.config?.sieve.hooks).toEqual([{ hook: 'core_final_validation', path: '/x.siv', declaredAt: { file: 'test.conf', line: 2, column: 3 } }]);
    expect(r.diagnostics).toEqual([
      "test.conf:2:3: warning: sieve hook \"core_final_validation\" is a Momentum event smtp-cbv does not have: its script does not run",
      "test.conf:3:3: warning: Momentum's option 'hook:delay_dsn_send_notification' in sieve \"sieve1\" has no effect in smtp-cbv: ignored",
    ]);
  });

  it('an ESMTP_Listener without Listen warns and listens on the default address', () => {
    const r = loaded('ESMTP_Listener { Idle_Time = 60 }');
    expect(r.config?.listeners.map((l) => `${l.host}:${l.port} ${l.idleTimeMs}`)).toEqual(['127.0.0.1:2525 60000']);
    expect(r.diagnostics[0]).toMatch(/warning: ESMTP_Listener has no Listen scope: listening on 127.0.0.1:2525/);
  });
});

describe("Momentum's listener forms", () => {
  it('Listen "*:25" and "[*]:25" are every IPv4 and every IPv6 address; Enable = false does not listen', () => {
    const r = loaded('Esmtp_Listener = {\n Listen "*:25" { }\n Listen "[*]:26" { }\n Listen "*:587" { Enable = false }\n}');
    expect(r.diagnostics).toEqual([]);
    expect(r.config?.listeners.map((l) => `${l.host}:${l.port}`)).toEqual(['0.0.0.0:25', ':::26']);
  });

  it('Peer directly under ESMTP_Listener applies to every Listen; standard listener options are read', () => {
    const r = loaded(`ESMTP_Listener {
  Peer "10.0.0.0/16" { Idle_Time = 300 }
  SMTP_Extensions = ( "ENHANCEDSTATUSCODES" "auth login" )
  Listen ":25" {
    Peer "10.0.0.1" { SMTP_Extensions = ( "STARTTLS" ) }
    TLS_Ciphers = "DEFAULT"
    TLS_Client_CA = "/etc/ca.pem"
    AuthPlainParameters = [ uri = "file:///etc/pw" log_authentication = "true" ]
  }
}`);
    expect(r.diagnostics).toEqual([]);
    const l = r.config!.listeners[0]!;
    expect(l.peers.map((p) => [p.cidr, p.idleTimeMs, p.smtpExtensions])).toEqual([
      ['10.0.0.1/32', null, ['STARTTLS']],
      ['10.0.0.0/16', 300_000, null],
    ]);
    expect(l).toMatchObject({ smtpExtensions: ['ENHANCEDSTATUSCODES', 'AUTH LOGIN'], tlsCiphers: 'DEFAULT', tlsClientCa: '/etc/ca.pem', auth: { PLAIN: { uri: 'file:///etc/pw', log_authentication: 'true' } } });
  });

  it('Datasource and cidr_list scopes make the model', () => {
    const r = loaded('Datasource "db" { uri = ( "sqlite:data.db" ) cache_life = 60 }\ncidr_list "trusted" { blocks = ( "10.0.0.0/8" ) values = [ "192.0.2.0/24" = "127.0.0.2" ] }');
    expect(r.diagnostics).toEqual([]);
    expect(r.config?.datasources).toMatchObject([{ name: 'db', uris: ['sqlite:data.db'], cacheLifeMs: 60_000, cacheSize: 1000, maxRows: 100 }]);
    expect(r.config?.cidrLists).toMatchObject([{ name: 'trusted', blocks: ['10.0.0.0/8'], values: { '192.0.2.0/24': '127.0.0.2' } }]);
    expect(loaded('cidr_list "x" { blocks = ( "10.0.0.0/99" ) }').config).toBeNull();
  });

  it('a Datasource takes Momentum\'s assume_charset by the names of the Encoding Standard; an unknown one is an error in its place', () => {
    expect(loaded('Datasource "jp" { uri = ( "csv:" ) assume_charset = "ISO-2022-JP" }').config?.datasources[0]).toMatchObject({ assumeCharset: 'iso-2022-jp' });
    expect(loaded('Datasource "d" { uri = ( "csv:" ) }').config?.datasources[0]).toMatchObject({ assumeCharset: null });
    const bad = loaded('Datasource "x" {\n  uri = ( "csv:" )\n  assume_charset = "klingon-8"\n}');
    expect(bad.config).toBeNull();
    expect(bad.diagnostics[0]).toMatch(/^test\.conf:3:\d+: error: .*expected a character set name such as iso-8859-1 or iso-2022-jp, found 'klingon-8'/);
  });

  it('a csv: Datasource opened from the configuration reads its files in its assume_charset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtp-cbv-charset-'));
    try {
      writeFileSync(join(dir, 'names.csv'), Buffer.from('a,\x1b$BF|K\\\x1b(B\n', 'latin1'));
      const r = parseConfigText('Datasource "jp" { uri = ( "csv:" ) assume_charset = "iso-2022-jp" max_rows = -1 }', join(dir, 'test.conf'));
      const services = createMomentumServices(r.config!);
      expect(await services.datasources.get('jp')!.query('names.csv', [])).toEqual([{ 1: 'a', 2: '日本' }]);
      services.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ec_spool_space reads the file system of the spool, or of its nearest parent before the spool is made, as df does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-space-'));
    try {
      const r = parseConfigText('spool_dir = "not/made/yet"', join(dir, 'test.conf'));
      const space = await createMomentumServices(r.config!).spoolSpace();
      const [size, avail] = execFileSync('df', ['-B1', '--output=size,avail', dir], { encoding: 'utf8' }).trim().split('\n')[1]!.trim().split(/\s+/).map(Number);
      expect(space.total).toBe(size);
      // Other writers on the disk move what is available between the two readings.
      expect(Math.abs(space.available - avail!)).toBeLessThan(size! / 100);
      expect(space.free).toBeGreaterThanOrEqual(space.available);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a Datasource whose driver smtp-cbv lacks loads with a warning in its place, for check, a dry run and serve alike', () => {
    const r = loaded('Datasource "ok" { uri = ( "CSV:" ) }\nDatasource "pg" {\n  uri = ( "pgsql:host=db1" "pgsql:host=db2" )\n}');
    expect(r.config?.datasources.map((d) => d.name)).toEqual(['ok', 'pg']);
    expect(r.diagnostics).toEqual([`test.conf:2:1: warning: Datasource "pg": datasource driver 'pgsql' is not provided by smtp-cbv (it has sqlite, csv, ldap, ldaps, cdb, iowrapper); scripts that query it fail`]);
  });
});
