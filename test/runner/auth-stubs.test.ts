/**
 * Authentication results in case files (docs/testing-policies.md): a
 * policy that reads spf_status, dmarc_status and the others is tested
 * offline, the results set where the server's checks set them
 * (docs/authentication.md): SPF before the mailfrom scripts, DKIM, ARC,
 * DMARC and the Authentication-Results field before the data scripts.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCaseFile } from '../../src/runner/case-file.js';
import { dryRun } from '../../src/runner/dry-run.js';
import { runCaseFile } from '../../src/runner/run-cases.js';

const MAILFROM = 'if vctx_mess :is "spf_status" "fail" { ec_action 550 "5.7.23 SPF of %{vctx_mess:spf_domain} fails"; }\n';
const DATA = `require "fileinto";
if allof (vctx_mess :is "dmarc_status" "fail", vctx_mess :is "dmarc_policy" "reject") {
  ec_action 550 "5.7.1 DMARC policy of %{vctx_mess:dmarc_domain} rejects this message";
}
if vctx_mess :is "dkim_status" "fail" { fileinto "Junk"; }
if header :matches "Authentication-Results" "mx.example;*arc=pass*" { ec_action 250 "2.0.0 forwarded, ARC vouches"; }
`;
const MESSAGE = 'From: Alice <alice@sender.example>\nTo: bob@here.example\nSubject: hi\n\nhello\n';

/** Every case gets the message (defaults: cannot hold one). */
async function files(cases: string): Promise<string> {
  cases = cases.replace(/^  - name: (.*)$/gm, `  - name: $1\n    message: "${MESSAGE.replace(/\n/g, '\\n')}"`);
  const dir = await mkdtemp(join(tmpdir(), 'cases-auth-'));
  await writeFile(join(dir, 'mailfrom.siv'), MAILFROM);
  await writeFile(join(dir, 'data.siv'), DATA);
  const f = join(dir, 'auth.cases.yaml');
  await writeFile(f, `scripts: { mailfrom: ${join(dir, 'mailfrom.siv')}, data: ${join(dir, 'data.siv')} }\n${cases}`);
  return f;
}

describe('authentication: in a case file', () => {
  it('sets SPF before the mailfrom scripts and the rest before the data scripts, which act on them', async () => {
    const f = await files(`defaults:
  envelope: { from: alice@sender.example, to: bob@here.example }
cases:
  - name: SPF fail is refused at MAIL FROM
    authentication: { spf: fail }
    expect: { mailfrom: { code: 550, reply: "550 5.7.23 SPF of sender.example fails", variables: { spf_status: fail, dkim_status: null } }, data: { reached: false } }
  - name: DMARC reject policy refuses the message
    authentication: { spf: pass, dkim: fail, dmarc: fail, dmarc_policy: reject }
    expect:
      mailfrom: { code: 250, variables: { spf_status: pass, spf_domain: sender.example, dmarc_status: null } }
      data: { code: 550, reply: "550 5.7.1 DMARC policy of sender.example rejects this message", variables: { dkim_status: fail, dmarc_domain: sender.example } }
  - name: a DKIM failure without DMARC goes to Junk
    authentication: { dkim: fail }
    expect: { data: { code: 250, actions: [store], implicit_keep: false } }
  - name: the header reads as the server writes it
    authentication: { spf: pass, spf_helo: pass, dkim: pass, dkim_domains: sender.example, arc: pass, dmarc: pass, dmarc_policy: none }
    expect:
      data:
        reply: "250 2.0.0 forwarded, ARC vouches"
        variables:
          authentication_results: "/^mx\\\\.example; dkim=pass header\\\\.d=sender\\\\.example; spf=pass smtp\\\\.mailfrom=alice@sender\\\\.example; spf=pass smtp\\\\.helo=client\\\\.example; arc=pass; dmarc=pass \\\\(p=NONE\\\\) header\\\\.from=sender\\\\.example$/"
          spf_helo_status: pass
          dmarc_policy: none
  - name: without authentication nothing is set
    expect: { data: { code: 250, actions: [], variables: { spf_status: null, dkim_status: null, dmarc_status: null, authentication_results: null } } }
`);
    const report = await runCaseFile(f);
    expect(report.outcomes.map((o) => [o.name, o.passed, o.reason ?? ''])).toEqual(report.outcomes.map((o) => [o.name, true, '']));
    expect(report.outcomes).toHaveLength(5);
  });

  it('puts the Authentication-Results field on the message, replacing one forged with our authserv-id (RFC 8601 5)', async () => {
    const r = await dryRun({
      scripts: { data: 'keep;' },
      envelope: { from: 'alice@sender.example', to: ['bob@here.example'] },
      message: `Authentication-Results: mx.example; dmarc=pass\n${MESSAGE}`,
      authentication: { dmarc: 'fail', dmarc_policy: 'quarantine' },
    });
    const data = r.phases.find((p) => p.phase === 'data')!;
    expect(data.variables.message).toMatchObject({ dmarc_status: 'fail', dmarc_policy: 'quarantine', dmarc_domain: 'sender.example' });
    expect(data.variables.message.authentication_results).toBe('mx.example; dmarc=fail (p=QUARANTINE) header.from=sender.example');
  });

  it('refuses a word the check never gives, an unknown key, and a detail without its result, at their positions', async () => {
    const { file, diagnostics } = await parseCaseFile(
      'config: x.conf\ncases:\n  - name: n\n    envelope: { from: a@b, to: c@d }\n    authentication: { spf: passed, dmarc_policy: reject, dkm: pass }\n    expect: { rcptto: { code: 250 } }\n',
      'f.yaml',
    );
    expect(file).toBeNull();
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([
      '3:5 case "n": authentication: dmarc_policy needs dmarc',
      '5:28 authentication.spf must be one of pass, fail, softfail, neutral, none, temperror, permerror',
      expect.stringMatching(/^5:58 authentication: unknown key "dkm"/),
    ]);
  });
});
