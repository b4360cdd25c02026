import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { MAX_DIAGNOSTICS } from '../../src/config/load.js';
import { errors } from './helpers.js';

describe('config errors: names', () => {
  it('an unknown option names the nearest valid one', () => {
    expect(errors('smtp_cbv {\n  phse = mailfrom\n}')).toEqual(["test.conf:2:3: error: unknown option 'phse' in smtp_cbv; did you mean 'phase'?"]);
    expect(errors('smtp_cbv "c1" { dns_server = 127.0.0.1 }')).toEqual([
      "test.conf:1:17: error: unknown option 'dns_server' in smtp_cbv \"c1\"; did you mean 'dns_servers'?",
    ]);
  });

  it('an unknown option far from every valid one gets no guess', () => {
    expect(errors('smtp_cbv { zzzzzzzz = 1 }')).toEqual(["test.conf:1:12: error: unknown option 'zzzzzzzz' in smtp_cbv"]);
  });

  it('an unknown scope names the nearest valid one', () => {
    expect(errors('esmtp_listner { }')).toEqual(["test.conf:1:1: error: unknown scope 'esmtp_listner' in the top level; did you mean 'ESMTP_Listener'?"]);
    expect(errors('ESMTP_Listener { Lisen ":25" { } }')).toContain(
      "test.conf:1:18: error: unknown scope 'Lisen' in ESMTP_Listener; did you mean 'Listen'?",
    );
  });

  it('an option written as a scope, or a scope written as an option, says which it is', () => {
    expect(errors('smtp_cbv { map { a = b } }')).toEqual(["test.conf:1:12: error: 'map' is an option, not a scope: write map = value"]);
    expect(errors('sieve = 1')).toEqual(["test.conf:1:1: error: 'sieve' is a scope, not an option: write sieve ... { ... }"]);
  });

  it('an unknown 2.x module names the nearest one', () => {
    expect(errors('Validate validate/siev sieve { }')).toEqual(["test.conf:1:10: error: unknown module 'validate/siev'; did you mean 'validate/sieve'?"]);
    expect(errors('Validate { }')).toEqual(['test.conf:1:1: error: Validate needs a module path such as validate/sieve']);
  });
});

describe('config errors: types', () => {
  it('a wrong type names the expected one', () => {
    expect(errors('smtp_cbv { port = abc }')).toEqual(["test.conf:1:19: error: port: expected an integer from 1 to 65535, found 'abc'"]);
    expect(errors('smtp_cbv { port = 70000 }')).toEqual(["test.conf:1:19: error: port: expected an integer from 1 to 65535, found '70000'"]);
    expect(errors('smtp_cbv { Enabled = maybe }')).toEqual(["test.conf:1:22: error: Enabled: expected a boolean (true or false), found 'maybe'"]);
    expect(errors('smtp_cbv { timeout = 0 }')).toEqual(["test.conf:1:22: error: timeout: expected a positive number of seconds, found '0'"]);
    expect(errors('smtp_cbv { timeout = ( 1 2 ) }')).toEqual(['test.conf:1:22: error: timeout: expected a positive number of seconds, not a list']);
  });

  it('an enum names its values', () => {
    expect(errors('smtp_cbv { phase = "data" }')).toEqual(["test.conf:1:20: error: phase: expected one of mailfrom, rcptto, found 'data'"]);
    expect(errors('sieve { runtime_error = stop }')).toEqual(["test.conf:1:25: error: runtime_error: expected one of fail, continue, found 'stop'"]);
  });

  it('every bad item of a list is reported at its own position', () => {
    expect(errors('smtp_cbv { allow_targets = ( 127.0.0.0/8 10.0.0.0/33 bogus ) }')).toEqual([
      "test.conf:1:42: error: allow_targets: expected a CIDR range such as 10.0.0.0/8, found '10.0.0.0/33'",
      "test.conf:1:54: error: allow_targets: expected a CIDR range such as 10.0.0.0/8, found 'bogus'",
    ]);
  });

  it('host:port values are checked', () => {
    expect(errors('smtp_cbv { dns_servers = ( "dns.example:53" "127.0.0.1:0" ) }')).toHaveLength(2);
    expect(errors('ESMTP_Listener { Listen "localhost:25" { } }')[0]).toMatch(/expected an IP address and port such as 127.0.0.1:2525/);
    expect(errors('ESMTP_Listener { Listen "1.2.3.4" { } }')[0]).toMatch(/found '1.2.3.4'/);
  });

  it('arrays and lists are not interchangeable, and array keys appear once', () => {
    expect(errors('smtp_cbv { map = ( a b ) }')).toEqual(['test.conf:1:18: error: map: expected an array [ key = value ... ], not a list']);
    expect(errors('smtp_cbv { own_domains = [ a = b ] }')).toEqual(['test.conf:1:26: error: own_domains: expected a list ( ... ) of string, not an array']);
    expect(errors('smtp_cbv { map = [ a.com = b  A.COM = c ] }')).toEqual(["test.conf:1:31: error: map: duplicate key 'A.COM' in array"]);
  });

  it('a Peer needs a CIDR and a script a supported phase', () => {
    expect(errors('ESMTP_Listener { Listen ":25" { Peer "10.0.0.0/99" { } } }')[0]).toMatch(/1:38: error: expected a CIDR range/);
    expect(errors('sieve { script mailfrm_phase1 { source = a } }')[0]).toMatch(/unknown script phase 'mailfrm_phase1'; did you mean 'mailfrom_phase1'\?/);
  });
});

describe('config errors: structure', () => {
  it('a missing required value is reported at its scope', () => {
    expect(errors('sieve {\n  script "data_phase1" { }\n}')).toEqual(["test.conf:2:3: error: missing required option 'source' in script \"data_phase1\""]);
    expect(errors('ESMTP_Listener { Listen ":25" { tls_key = k } }')[0]).toMatch(/missing required option 'tls_certificate'/);
  });

  it('a bad value is reported once: not also as missing, and it still counts for duplicates', () => {
    expect(errors('sieve { script data_phase1 { source = "" } }')).toEqual(["test.conf:1:39: error: source: expected a path, found ''"]);
    expect(errors('smtp_cbv { port = x  port = 25 }')).toEqual([
      "test.conf:1:19: error: port: expected an integer from 1 to 65535, found 'x'",
      "test.conf:1:22: error: duplicate option 'port' in smtp_cbv (first set at test.conf:1:12)",
    ]);
  });

  it('the body of a refused scope is still checked', () => {
    expect(errors('smtp_cbv { }\nsmtp_cbv { prot = 1 }')).toEqual([
      "test.conf:2:1: error: duplicate scope 'smtp_cbv' (first at test.conf:1:1)",
      "test.conf:2:12: error: unknown option 'prot' in smtp_cbv; did you mean 'port'?",
    ]);
    expect(errors('logging x { level = loud }')).toEqual([
      'test.conf:1:9: error: logging takes no name',
      "test.conf:1:21: error: level: expected one of fatal, error, warn, info, debug, trace, silent, found 'loud'",
    ]);
  });

  it('scope names: required, refused, or one at most', () => {
    expect(errors('sieve { script { source = a } }')).toEqual(['test.conf:1:9: error: script needs a name (phase)']);
    expect(errors('logging "x" { }')).toEqual(['test.conf:1:9: error: logging takes no name']);
    expect(errors('smtp_cbv a b { }')).toEqual(['test.conf:1:12: error: smtp_cbv takes at most one name (instance name)']);
  });

  it('duplicates point at the first occurrence', () => {
    expect(errors('smtp_cbv { port = 25\n port = 26 }')).toEqual(["test.conf:2:2: error: duplicate option 'port' in smtp_cbv (first set at test.conf:1:12)"]);
    expect(errors('smtp_cbv { }\nsmtp_cbv "b" { }')).toEqual(["test.conf:2:1: error: duplicate scope 'smtp_cbv' (first at test.conf:1:1)"]);
    expect(errors('sieve { script data_phase1 { source = a }\n script DATA_PHASE1 { source = b } }')).toEqual([
      "test.conf:2:2: error: duplicate script 'DATA_PHASE1' (first at test.conf:1:9)",
    ]);
    expect(errors('ESMTP_Listener { Listen ":25" { }\n Listen "0.0.0.0:25" { } }')).toEqual([
      'test.conf:2:2: error: duplicate Listen address 0.0.0.0:25 (first at test.conf:1:18)',
    ]);
    expect(errors('sieve { mailfrom_phase1 = a\n script mailfrom_phase1 { source = b } }')).toEqual([
      'test.conf:2:2: error: duplicate script for mailfrom_phase1 (first at test.conf:1:9)',
    ]);
  });

  it('reports several errors in one run, in source order, syntax and model alike', () => {
    const all = errors('smtp_cbv { port = x }\nfoo = 1\nbar { = }\nsieve { dialect = perl }\n');
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect(new Set(all.map((e) => e.split(':')[1]))).toEqual(new Set(['1', '2', '3', '4']));
    expect(all.map((e) => Number(e.split(':')[1]))).toEqual(all.map((e) => Number(e.split(':')[1])).sort());
  });

  it('returns no config when there is any error, but still the diagnostics', () => {
    const r = parseConfigText('smtp_cbv { port = x }', 'f.conf');
    expect(r.config).toBeNull();
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ severity: 'error', file: 'f.conf', line: 1, column: 19 });
  });
});

describe('config errors: addresses', () => {
  it('source_address must be an IP address', () => {
    expect(errors('smtp_cbv { source_address = mx.example.org }')).toEqual([
      "test.conf:1:29: error: source_address: expected an IP address such as 192.0.2.1, found 'mx.example.org'",
    ]);
  });

  it('redis_url must be a redis URL', () => {
    expect(errors('smtp_cbv { redis_url = "http://x" }')[0]).toMatch(/redis_url: expected a URL starting with redis:\/\/ or rediss:\/\//);
  });
});

describe('config errors: volume', () => {
  it('lists at most MAX_DIAGNOSTICS problems and counts the rest', () => {
    const r = parseConfigText('sieve { ' + 'script data_phase1 { source = a } '.repeat(MAX_DIAGNOSTICS + 50) + '}', 'v.conf');
    expect(r.diagnostics).toHaveLength(MAX_DIAGNOSTICS + 1);
    expect(r.diagnostics[MAX_DIAGNOSTICS]?.message).toBe('49 more errors not shown');
  });
});

describe('config errors: prototype names are plain text', () => {
  it('names such as constructor or __proto__ are unknown values, not lookups', () => {
    expect(errors('smtp_cbv { Debug_Level = constructor }')[0]).toMatch(/Debug_Level: expected one of emerg/);
    expect(errors('Validate constructor { }')[0]).toMatch(/unknown module 'constructor'/);
    expect(errors('constructor { }')[0]).toMatch(/unknown scope 'constructor'/);
    expect(errors('smtp_cbv { __proto__ = 1 }')[0]).toMatch(/unknown option '__proto__'/);
  });

  it('an array key __proto__ stays a key', () => {
    const r = parseConfigText('smtp_cbv { map = [ __proto__ = x.example ] }\nESMTP_Listener { context = [ __proto__ = y ] Listen ":25" { } }', 'p.conf');
    expect(r.diagnostics).toEqual([]);
    expect(Object.keys(r.config?.smtpCbv?.map ?? {})).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(r.config?.listeners[0]?.context, '__proto__')?.value).toBe('y');
  });
});
