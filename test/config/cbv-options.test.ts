import { describe, expect, it } from 'vitest';
import { cbvEngineOptions } from '../../src/config/index.js';
import { load } from './helpers.js';

describe('cbvEngineOptions', () => {
  it('maps every smtp_cbv option to the engine name and unit', () => {
    const c = load(`smtp_cbv {
      mailfrom = "probe@example.org"  map = [ a.example = b.example ]  map_subdomains = true  own_domains = ( example.org )
      dns_servers = ( 127.0.0.1:5354 )  dns_timeout = 1.5  dns_tries = 3  port = 2526  source_address = 127.0.0.2
      allow_targets = ( 127.0.0.0/8 )  helo = probe.example.org  timeout = 12  connect_timeout = 2  greeting_timeout = 3
      command_timeout = 4  max_hosts = 2  starttls = false  cache_positive_ttl = 100  cache_negative_ttl = 50  cache_domain_ttl = 25
      cache_size = 99  max_concurrency = 7  max_concurrency_per_domain = 3  domain_rate_limit = 9  domain_rate_interval = 30
      catch_all_check = true  postmaster_check = true
    }`).smtpCbv!;
    expect(cbvEngineOptions(c)).toEqual({
      mailFrom: 'probe@example.org', map: { 'a.example': 'b.example' }, mapSubdomains: true, ownDomains: ['example.org'],
      dnsServers: ['127.0.0.1:5354'], dnsTimeoutMs: 1500, dnsTries: 3, port: 2526, localAddress: '127.0.0.2',
      allowTargets: ['127.0.0.0/8'], helo: 'probe.example.org', timeout: 12, connectTimeoutMs: 2000, greetingTimeoutMs: 3000,
      commandTimeoutMs: 4000, maxHosts: 2, startTls: false, positiveTtl: 100, negativeTtl: 50, domainTtl: 25,
      cacheSize: 99, maxConcurrent: 7, maxConcurrentPerDomain: 3, ratePerDomain: 9, rateWindow: 30,
      catchAllCheck: true, postmasterCheck: true,
    });
  });

  it('leaves unset what the engine defaults from the system (resolvers, host name, source address)', () => {
    const o = cbvEngineOptions(load('smtp_cbv { }').smtpCbv!);
    expect(o.dnsServers).toBeUndefined();
    expect(o.helo).toBeUndefined();
    expect(o.localAddress).toBeUndefined();
    expect(o.mailFrom).toBe('');
  });
});
