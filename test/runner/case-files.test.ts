/**
 * Policy case files: the example policy's cases pass (so npm test runs
 * them), a failing case says what it expected and what it got, and a
 * mistake in a case file is reported at its line and column.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { bufferIO } from '../../src/cli/io.js';
import { parseCaseFile } from '../../src/runner/case-file.js';
import { runCaseFile } from '../../src/runner/run-cases.js';

const examples = join(import.meta.dirname, '../../examples/policy');
const exampleConf = join(import.meta.dirname, '../../examples/smtp-cbv.conf');

async function caseFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cases-'));
  const f = join(dir, 'x.cases.yaml');
  await writeFile(f, text);
  return f;
}

describe('the example policy cases', () => {
  it('all pass, through smtp-cbv test, with the --json summary line', async () => {
    const io = bufferIO();
    const code = await main(['test', examples, '--json'], io);
    const summary = JSON.parse(io.stdout.trim().split('\n').at(-1)!);
    expect(summary.failed).toBe(0);
    expect(summary.tests).toBeGreaterThanOrEqual(10);
    expect(code).toBe(0);
  });

  it('--coverage shows every line and branch of the example scripts exercised', async () => {
    const io = bufferIO();
    await main(['test', join(examples, 'policy.cases.yaml'), '--coverage'], io);
    expect(io.stdout).toMatch(/rcptto\.siv: lines 4\/4 \(100%\), branches 4\/4 \(100%\)/);
  });
});

describe('spool and each_rcpt in a case file', () => {
  it('expect.each_rcpt takes one expectation per recipient, in order; a list under another message phase is an error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cases-'));
    await writeFile(join(dir, 'each.siv'), 'require ["envelope", "reject"];\nif envelope :localpart :is "to" "carol" { reject "no carol"; }\n');
    const f = join(dir, 'x.cases.yaml');
    await writeFile(f, `scripts:
  each_rcpt: each.siv
cases:
  - name: carol is refused, bob is not
    envelope: { from: alice@sender.example, to: [bob@here.example, carol@here.example] }
    message: "Subject: hi\\n\\nhello\\n"
    expect:
      each_rcpt: [{ code: 250 }, { code: 550, reply: "550 5.7.1 no carol" }]
      data: { code: 250 }
`);
    const report = await runCaseFile(f);
    expect(report.outcomes.map((o) => [o.passed, o.reason])).toEqual([[true, undefined]]);
    const { diagnostics } = await parseCaseFile('scripts: { spool: x.siv }\ncases:\n  - name: a list for spool\n    envelope: { from: a@b, to: c@d }\n    expect:\n      spool: [{ code: 250 }]\n', 'f.yaml');
    expect(diagnostics.map((d) => d.message)).toContain('expect.spool: a list (one expectation per recipient) is for rcptto and each_rcpt only');
  });
});

describe('a failing case', () => {
  it('shows expected against got, per phase and recipient, and smtp-cbv test exits 1', async () => {
    const f = await caseFile(`config: ${exampleConf}
cases:
  - name: ghost is not accepted
    envelope: { from: ghost@sender.example, to: bob@here.example }
    cbv: { ghost@sender.example: "fail: 550 5.1.1 no" }
    expect:
      rcptto: { code: 250, variables: { smtp_cbv_result: pass } }
`);
    const report = await runCaseFile(f);
    expect(report.outcomes[0]!.passed).toBe(false);
    expect(report.outcomes[0]!.reason).toContain('rcptto <bob@here.example>: code: expected 250, got 550 (550 5.7.1 Sender address rejected: verification failed (rejected))');
    expect(report.outcomes[0]!.reason).toContain('variables.smtp_cbv_result: expected "pass", got "error"');
    const io = bufferIO();
    expect(await main(['test', f, '--json'], io)).toBe(1);
    expect(io.stdout).toContain('{"files":1,"tests":1,"passed":0,"failed":1,"skipped":0}');
  });

  it('fails when a CBV call has no stub, naming the address', async () => {
    const f = await caseFile(`config: ${exampleConf}
cases:
  - name: forgot the stub
    envelope: { from: who@nowhere.example, to: bob@here.example }
    expect: { mailfrom: { code: 250 } }
`);
    const report = await runCaseFile(f);
    expect(report.outcomes[0]!.reason).toContain('mailfrom: error: smtp_callback_verify "who@nowhere.example": no CBV stub for this address (add one under cbv:)');
  });
});

describe('smtp_recipient_verify in case files', () => {
  it('answers from recipient_verify: stubs, and a call without one is an error naming the address', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cases-rv-'));
    await writeFile(join(dir, 'rcpt.siv'), '$to = envelope "to";\n($s, $m) = smtp_recipient_verify "${to}";\nif ec_test :is "${s}" "fail" { ec_action 550 "5.1.1 ${m}"; }\n');
    const f = await caseFile(`scripts: { rcptto: ${join(dir, 'rcpt.siv')} }
defaults:
  recipient_verify: { "ann@here.example": pass }
cases:
  - name: the next hop refuses
    envelope: { from: a@sender.example, to: [ann@here.example, gone@here.example] }
    recipient_verify: { "gone@here.example": "fail: 550 5.1.1 no such user" }
    expect: { rcptto: [ { code: 250 }, { reply: "550 5.1.1 550 5.1.1 no such user" } ] }
  - name: forgot the stub
    envelope: { from: a@sender.example, to: who@here.example }
    expect: { rcptto: { code: 250 } }
`);
    const report = await runCaseFile(f);
    expect(report.outcomes[0]).toMatchObject({ passed: true });
    expect(report.outcomes[1]!.reason).toContain('smtp_recipient_verify "who@here.example": no recipient call-ahead stub for this address (add one under recipient_verify:)');
  });
});

describe('errors in a case file', () => {
  it('are positioned and name what is wrong', async () => {
    const { file, diagnostics } = await parseCaseFile(
      'config: x.conf\ncases:\n  - name: typo\n    envelop: { from: a@b }\n    cbv: { a@b: passs }\n    expect:\n      rcpto: { code: 250 }\n',
      'f.yaml',
    );
    expect(file).toBeNull();
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([
      '3:5 case "typo": envelope: needs from (use "" for the null sender) and to',
      expect.stringMatching(/^4:5 a case: unknown key "envelop"/),
      '5:17 cbv."a@b": status must be one of pass, fail, error, transient',
      expect.stringMatching(/^7:7 expect: unknown phase "rcpto"/),
    ]);
  });

  it('reports YAML syntax errors at their position', async () => {
    const { diagnostics } = await parseCaseFile('config: x.conf\ncases: [\n', 'f.yaml');
    expect(diagnostics[0]).toMatchObject({ severity: 'error', file: 'f.yaml', line: expect.any(Number) });
    expect(diagnostics[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('refuses a reason that does not go with the status', async () => {
    const { diagnostics } = await parseCaseFile('config: x.conf\ncases:\n  - name: n\n    envelope: { from: a@b, to: c@d }\n    cbv: { default: { status: pass, reason: nxdomain } }\n    expect: { rcptto: { code: 250 } }\n', 'f.yaml');
    expect(diagnostics.map((d) => d.message)).toEqual(['cbv."default": reason "nxdomain" goes with status error, not pass']);
  });
});

describe('coverage of a partly exercised script', () => {
  it('lists the lines never run and the branch outcomes never seen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cov-'));
    await writeFile(join(dir, 'm.siv'), 'require ["envelope", "reject"];\nif envelope :domain :is "from" "bad.example" {\n  reject "no";\n}\n');
    await writeFile(join(dir, 'm.cases.yaml'), 'scripts: { mailfrom: m.siv }\ncases:\n  - name: good sender\n    envelope: { from: a@good.example, to: b@here.example }\n    expect: { mailfrom: { code: 250 } }\n');
    const io = bufferIO();
    await main(['test', dir, '--coverage'], io);
    expect(io.stdout).toContain('m.siv: lines 2/3 (66%), branches 1/2 (50%)\n  line 3: never run\n  line 2: if test never true\n');
  });
});

describe('phases and expectations', () => {
  it('an expectation for a phase the case does not report is an error at it', async () => {
    const { diagnostics } = await parseCaseFile('config: x.conf\ncases:\n  - name: n\n    phase: mailfrom\n    envelope: { from: a@b, to: c@d }\n    expect:\n      rcptto: { code: 250 }\n', 'f.yaml');
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual(['7:15 expect.rcptto: not among the phases this case reports (mailfrom)']);
  });
});

describe('the duplicate list (RFC 7352)', () => {
  it('holds what a case lists, by :handle, and nothing else: both branches of a duplicate test can be tested', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duplicates-'));
    await writeFile(join(dir, 'data.siv'), 'require ["duplicate", "fileinto"];\nif duplicate { discard; stop; }\nif duplicate :handle "list" :header "list-id" { fileinto "Lists"; }\n');
    await writeFile(
      join(dir, 'data.cases.yaml'),
      `scripts: { data: data.siv }
defaults:
  envelope: { from: a@sender.example, to: b@here.example }
cases:
  - name: seen before
    duplicates: ["<m1@sender.example>"]
    message: "Message-ID: <m1@sender.example>\\r\\nSubject: t\\r\\n\\r\\nhi\\r\\n"
    expect: { data: { actions: [discard] } }
  - name: new
    duplicates: ["<other@sender.example>", { handle: list, id: "<m1@sender.example>" }]
    message: "Message-ID: <m1@sender.example>\\r\\nSubject: t\\r\\n\\r\\nhi\\r\\n"
    expect: { data: { actions: [], implicit_keep: true } }
  - name: a list seen under its handle
    duplicates: [{ handle: list, id: "<l.sender.example>" }]
    message: "Message-ID: <m2@sender.example>\\r\\nList-Id: <l.sender.example>\\r\\n\\r\\nhi\\r\\n"
    expect: { data: { actions: [store] } }
`,
    );
    const report = await runCaseFile(join(dir, 'data.cases.yaml'));
    expect(report.outcomes.map((o) => [o.name, o.passed, o.reason ?? ''])).toEqual([
      ['seen before', true, ''],
      ['new', true, ''],
      ['a list seen under its handle', true, ''],
    ]);
  });

  it('says what a duplicates entry lacks, at its line', async () => {
    const { diagnostics } = await parseCaseFile('scripts: { data: d.siv }\ncases:\n  - name: n\n    envelope: { from: a@b.example, to: c@d.example }\n    duplicates: [{ handle: list }, 7, "<ok@b.example>"]\n    expect: { mailfrom: { code: 250 } }\n', 'f.yaml');
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual(['5:18 duplicates: an entry needs an id']);
  });
});

describe('scripts given directly', () => {
  it('runs the Sieve function and ec_dns_lookup from stubs; a lookup without a stub is a runtime error a case can expect', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scripts-'));
    await writeFile(
      join(dir, 'rcpt.siv'),
      '$from = envelope "from";\n($s, $m) = smtp_callback_verify "${from}";\nif ec_test :is "${s}" "fail" { ec_action 550 "5.1.7 bad sender: ${m}"; }\n$a = ec_dns_lookup "${from}.rbl.example" "A";\n',
    );
    await writeFile(
      join(dir, 'rcpt.cases.yaml'),
      `scripts: { rcptto: rcpt.siv }
defaults:
  envelope: { to: b@here.example }
cases:
  - name: refused by its MX
    envelope: { from: ghost@x.example }
    cbv: { ghost@x.example: "fail: 550 5.1.1 unknown" }
    expect:
      rcptto: { reply: "550 5.1.7 bad sender: 550 5.1.1 unknown", cbv_calls: [ghost@x.example] }
  - name: listed
    envelope: { from: ok@x.example }
    cbv: { default: pass }
    dns: { "ok@x.example.rbl.example A": [127.0.0.2] }
    expect: { rcptto: { code: 250, actions: [] } }
  - name: the look-up has no stub
    envelope: { from: ok@x.example }
    cbv: { default: pass }
    expect: { rcptto: { code: 451, error: /no DNS stub for "ok@x\\.example\\.rbl\\.example A"/ } }
`,
    );
    const report = await runCaseFile(join(dir, 'rcpt.cases.yaml'));
    expect(report.outcomes.map((o) => [o.name, o.passed, o.reason ?? ''])).toEqual([
      ['refused by its MX', true, ''],
      ['listed', true, ''],
      ['the look-up has no stub', true, ''],
    ]);
  });
});

describe('a data expectation without a message', () => {
  it('is an error at the expectation', async () => {
    const { diagnostics } = await parseCaseFile('config: x.conf\ncases:\n  - name: n\n    envelope: { from: a@b, to: c@d }\n    expect:\n      data: { code: 250 }\n', 'f.yaml');
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual(['6:13 expect.data: the case has no message (add message: or message_file:)']);
  });
});
