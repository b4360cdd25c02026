import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LISTEN, parseConfigText, peerContext, referencedScripts } from '../../src/config/index.js';
import { load } from './helpers.js';

describe('config model: defaults', () => {
  it('an empty file is a runnable config: default listener, no CBV, no scripts', () => {
    const c = load('');
    expect(c.listeners).toHaveLength(1);
    expect(c.listeners[0]).toMatchObject({ host: DEFAULT_LISTEN.host, port: DEFAULT_LISTEN.port, peers: [], context: {} });
    expect(c.smtpCbv).toBeNull();
    expect(c.sieve).toEqual({ name: null, enabled: true, debugLevel: null, runtimeError: 'fail', dialect: 'momentum', scripts: [], hooks: [] });
    expect(c.datasources).toEqual([]);
    expect(c.cidrLists).toEqual([]);
    expect(c.logging).toEqual({ level: 'info', pretty: false });
  });

  it('a file with only the smtp_cbv block loads with every CBV default filled in', () => {
    const c = load('smtp_cbv "smtp_cbv1" { }');
    expect(c.listeners.map((l) => `${l.host}:${l.port}`)).toEqual(['127.0.0.1:2525']);
    expect(c.smtpCbv).toMatchObject({
      name: 'smtp_cbv1', enabled: true, debugLevel: null, phase: 'mailfrom', mailfrom: '', map: {},
      mapSubdomains: false, dnsServers: [], dnsTimeoutMs: 2000, dnsTries: 2, port: 25, allowTargets: [], helo: null, redisUrl: null, ownDomains: [],
      timeoutMs: 30_000, connectTimeoutMs: 5_000, commandTimeoutMs: 10_000,
      limits: { maxConcurrency: 100, maxConcurrencyPerDomain: 10, domainRateLimit: 60, domainRateIntervalMs: 60_000 },
    });
    expect(c.smtpCbv?.cache.negativeTtlMs).toBeLessThan(c.smtpCbv?.cache.positiveTtlMs ?? 0);
  });

  it('resolves spool_dir relative to the config file directory by default and when set', () => {
    expect(load('', '/srv/mta/smtp.conf').spoolDir).toBe('/srv/mta/var/spool');
    expect(load('spool_dir = spool/in', '/srv/mta/smtp.conf').spoolDir).toBe('/srv/mta/spool/in');
    expect(load('spool_dir = "/var/spool/x"', '/srv/mta/smtp.conf').spoolDir).toBe('/var/spool/x');
  });
});

describe('config model: smtp_cbv', () => {
  it('reads the Momentum options, case-insensitively', () => {
    const c = load('SMTP_CBV "x" { ENABLED = false  Debug_Level = DEBUG  PHASE = RCPTTO  mailfrom = "probe@example.org"  map = [ Yahoo.NET = "Yahoo.com" ] }');
    expect(c.smtpCbv).toMatchObject({ enabled: false, debugLevel: 'debug', phase: 'rcptto', mailfrom: 'probe@example.org', map: { 'yahoo.net': 'yahoo.com' } });
  });

  it('reads our own options and converts seconds to milliseconds', () => {
    const c = load(`smtp_cbv {
      dns_servers = ( "127.0.0.1:5354" ::1 )  port = 2526  allow_targets = ( 127.0.0.0/8 "::1/128" 10.1.2.3 )
      helo = probe.example.org  source_address = 192.0.2.1  timeout = 2.5  connect_timeout = 1  greeting_timeout = 1.5  command_timeout = 3
      max_hosts = 2  starttls = no  cache_positive_ttl = 600  cache_negative_ttl = 60  cache_domain_ttl = 120  cache_size = 500
      max_concurrency = 10  max_concurrency_per_domain = 2  domain_rate_limit = 5  domain_rate_interval = 30
      dns_timeout = 0.5  dns_tries = 3  map_subdomains = yes
      catch_all_check = true  postmaster_check = on  own_domains = ( Example.ORG example.net )  redis_url = "redis://127.0.0.1:6379/0"
    }`);
    expect(c.smtpCbv).toMatchObject({
      dnsServers: ['127.0.0.1:5354', '[::1]:53'], port: 2526, allowTargets: ['127.0.0.0/8', '::1/128', '10.1.2.3/32'],
      helo: 'probe.example.org', sourceAddress: '192.0.2.1', timeoutMs: 2500, connectTimeoutMs: 1000, greetingTimeoutMs: 1500,
      commandTimeoutMs: 3000, maxHosts: 2, starttls: false,
      cache: { positiveTtlMs: 600_000, negativeTtlMs: 60_000, domainTtlMs: 120_000, size: 500 },
      limits: { maxConcurrency: 10, maxConcurrencyPerDomain: 2, domainRateLimit: 5, domainRateIntervalMs: 30_000 },
      dnsTimeoutMs: 500, dnsTries: 3, mapSubdomains: true,
      catchAllCheck: true, postmasterCheck: true, ownDomains: ['example.org', 'example.net'], redisUrl: 'redis://127.0.0.1:6379/0',
    });
  });

  it('accepts Debug_Level as a syslog number', () => {
    expect(load('smtp_cbv { Debug_Level = 3 }').smtpCbv?.debugLevel).toBe('error');
  });
});

describe('config model: sieve', () => {
  it('binds scripts to phases, in phase order, with paths relative to the config file', () => {
    const c = load(`sieve "sieve1" {
      runtime_error = "continue"  dialect = rfc
      script "data_phase1" { source = "policy/data.siv" }
      script mailfrom_phase2 { source = "/opt/vendor.siv" }
      script "MAILFROM_PHASE1" { source = "policy/mailfrom.siv" }
    }`, '/etc/mta/smtp.conf');
    expect(c.sieve).toMatchObject({ name: 'sieve1', runtimeError: 'continue', dialect: 'rfc' });
    expect(c.sieve.scripts.map((s) => [s.phase, s.order, s.path])).toEqual([
      ['mailfrom', 1, '/etc/mta/policy/mailfrom.siv'],
      ['mailfrom', 2, '/opt/vendor.siv'],
      ['data', 1, '/etc/mta/policy/data.siv'],
    ]);
  });

  it('takes the Enabled and Debug_Level options every Momentum module has', () => {
    expect(load('sieve { Enabled = false  Debug_Level = "WARNING" }').sieve).toMatchObject({ enabled: false, debugLevel: 'warn' });
  });

  it('referencedScripts lists every script with where it was declared', () => {
    const c = load('sieve {\n  script "each_rcpt_phase1" { source = "a.siv" }\n}', '/c/x.conf');
    expect(referencedScripts(c)).toEqual([{ phase: 'each_rcpt', order: 1, path: '/c/a.siv', declaredAt: { file: '/c/x.conf', line: 2, column: 31 } }]);
  });

  it('loads the 2.x form Validate validate/sieve <name> { <phase>_phaseN = path }', () => {
    const c = load('Validate validate/sieve sieve { mailfrom_phase1 = "/path/m.siv"  rcptto_phase2 = r.siv }', '/e/ecelerity.conf');
    expect(c.sieve.name).toBe('sieve');
    expect(c.sieve.scripts.map((s) => [s.phase, s.order, s.path])).toEqual([['mailfrom', 1, '/path/m.siv'], ['rcptto', 2, '/e/r.siv']]);
  });

  it('loads smtp_cbv through the 2.x form too', () => {
    expect(load('Validate validate/smtp_cbv { phase = rcptto }').smtpCbv).toMatchObject({ name: null, phase: 'rcptto' });
  });
});

describe('config model: listener', () => {
  const text = `ESMTP_Listener {
    hostname = mx.example.org  max_message_size = 20m  context = [ site = "a" ]
    Listen ":25" {
      Peer "0.0.0.0/0" { Context = [ __bypass_smtp_cbv = "false" ] }
      Peer "10.0.0.0/8" { Context = [ __bypass_smtp_cbv = "true" ] }
    }
    Listen "[::1]:2525" { hostname = local.test  max_connections_per_ip = 1  greeting = "ready"  tls_key = k.pem  tls_certificate = c.pem  context = [ local = yes ] }
  }`;

  it('makes one listener per Listen, inheriting ESMTP_Listener options unless overridden', () => {
    const c = load(text, '/etc/mta/smtp.conf');
    expect(c.listeners.map((l) => [l.host, l.port, l.hostname, l.maxMessageSize])).toEqual([
      ['0.0.0.0', 25, 'mx.example.org', 20 * 1024 * 1024],
      ['::1', 2525, 'local.test', 20 * 1024 * 1024],
    ]);
    expect(c.listeners[1]).toMatchObject({ maxConnectionsPerIp: 1, greeting: 'ready', tlsKey: '/etc/mta/k.pem', tlsCertificate: '/etc/mta/c.pem', context: { site: 'a', local: 'yes' } });
    expect(c.listeners[0]?.maxConnectionsPerIp).toBe(20);
  });

  it('gives the server-wide settings from ESMTP_Listener itself, with defaults', () => {
    expect(load(text).server).toEqual({
      hostname: 'mx.example.org', greeting: null, maxMessageSize: 20 * 1024 * 1024, maxConnectionsPerIp: 20, maxTarpitMs: 30_000, socketTimeoutMs: 300_000,
      greetPauseMs: 0, maxConnections: 1000, dataTimeoutMs: 600_000, maxMessageMemory: 512 * 1024 * 1024, messageSpoolThreshold: 128 * 1024,
    });
    expect(load('ESMTP_Listener { max_tarpit = 2  socket_timeout = 60  Listen ":25" { } }').server).toMatchObject({ maxTarpitMs: 2000, socketTimeoutMs: 60_000 });
    expect(load('').server).toMatchObject({ hostname: null, maxMessageSize: 10 * 1024 * 1024, maxTarpitMs: 30_000 });
  });

  it('keeps server-wide settings out of Listen', () => {
    expect(parseConfigText('ESMTP_Listener { Listen ":25" { max_tarpit = 1 } }', 't.conf').diagnostics[0]?.message).toBe(
      'unknown option \'max_tarpit\' in Listen ":25"',
    );
  });

  it('gives a client the context of the most specific peer range', () => {
    const l = load(text).listeners[0]!;
    expect(peerContext(l, '10.1.2.3')).toEqual({ site: 'a', __bypass_smtp_cbv: 'true' });
    expect(peerContext(l, '192.0.2.1')).toEqual({ site: 'a', __bypass_smtp_cbv: 'false' });
    expect(peerContext(l, '::ffff:10.0.0.1')).toEqual({ site: 'a', __bypass_smtp_cbv: 'true' });
    expect(peerContext(l, '2001:db8::1')).toEqual({ site: 'a' });
    expect(peerContext(l, 'not an ip')).toEqual({ site: 'a' });
  });
});

describe('config model: logging', () => {
  it('reads level and pretty', () => {
    expect(load('logging { level = debug  pretty = true }').logging).toEqual({ level: 'debug', pretty: true });
  });
});

describe('config model: results are values', () => {
  it('reports the file name given, and a relative file resolves against the working directory', () => {
    const r = parseConfigText('spool_dir = s', 'rel/x.conf');
    expect(r.config?.spoolDir).toBe(path.resolve('rel/s'));
  });
});
