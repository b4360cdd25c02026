/**
 * spf_v1, dkim_validate, dmarc and authentication in the configuration
 * (docs/configuration.md, docs/authentication.md): off unless written,
 * Momentum's spf_v1 example loads, dmarc brings SPF and DKIM with it, and
 * mistakes are named at file:line:col.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { formatDiagnostic } from '../../src/diagnostics.js';
import { errors, load } from './helpers.js';

describe('message authentication in the configuration', () => {
  it('is off without any module scope (the embedded defaults need no DNS)', () => {
    expect(load('spool_dir = "/tmp/x"').authentication).toBeNull();
    expect(load('authentication { authserv_id = "mx.example" }').authentication).toBeNull();
  });

  it("loads Momentum's documented spf_v1 example, warning about the options that do nothing here", () => {
    const text = [
      'spf_v1 "spf_v1" {',
      '  default_rule = "?all"',
      '  add_headers = true',
      '  add_authentication_results = true',
      '  context_variable = "spf_status"',
      '  fail_fallback_string = "SPF validation failure"',
      '}',
    ].join('\n');
    const r = parseConfigText(text, 'test.conf');
    expect(r.diagnostics.map((d) => formatDiagnostic(d))).toEqual([
      `test.conf:2:3: warning: Momentum's option 'default_rule' in spf_v1 "spf_v1" has no effect in smtp-cbv: ignored`,
      `test.conf:6:3: warning: Momentum's option 'fail_fallback_string' in spf_v1 "spf_v1" has no effect in smtp-cbv: ignored`,
    ]);
    expect(r.config?.authentication).toEqual({
      spf: { contextVariable: 'spf_status', receivedSpf: true, authResults: true, helo: true },
      dkim: null,
      dmarc: false,
      authservId: null,
      dnsServers: [],
      dnsTimeoutMs: 2000,
      dnsTries: 2,
      timeoutMs: 20000,
    });
  });

  it('dmarc turns SPF and DKIM on with their defaults; the authentication scope sets what they share', () => {
    const a = load('dmarc { }\ndkim_validate { arc = false }\nauthentication { authserv_id = "mx.example"\n dns_servers = ( "127.0.0.1:5353" "::1" )\n timeout = 5 }').authentication;
    expect(a).toEqual({
      spf: { contextVariable: 'spf_status', receivedSpf: true, authResults: true, helo: true },
      dkim: { minKeyBits: 1024, arc: false },
      dmarc: true,
      authservId: 'mx.example',
      dnsServers: ['127.0.0.1:5353', '[::1]:53'],
      dnsTimeoutMs: 2000,
      dnsTries: 2,
      timeoutMs: 5000,
    });
  });

  it('names a wrong value or an unknown option at file:line:col', () => {
    expect(errors('dkim_validate {\n  min_key_bits = 100\n}')).toEqual([expect.stringMatching(/^test\.conf:2:18: error: .*512/)]);
    expect(errors('spf_v1 {\n  helo_chek = true\n}')[0]).toMatch(/^test\.conf:2:3: error: .*helo_chek.*helo_check/);
    expect(errors('dmarc { p = "reject" }')[0]).toMatch(/^test\.conf:1:9: error: .*'p'/);
  });
});
