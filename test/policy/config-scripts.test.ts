/**
 * The scripts a configuration binds to Momentum's spool and each_rcpt
 * phases are compiled and run (src/policy/config-scripts.ts,
 * docs/server.md "Phases"), message tests included; and Momentum's own
 * csapi example, which scans at DATA and decides in each_rcpt
 * (3-reference-modules-csapi.md), loads and behaves as its page says.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { compileConfigScripts } from '../../src/policy/config-scripts.js';
import { dryRun } from '../../src/runner/index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir() {
  const dir = await mkdtemp(path.join(tmpdir(), 'smtp-cbv-phases-'));
  dirs.push(dir);
  return dir;
}

describe('spool and each_rcpt scripts in a configuration', () => {
  it('are compiled, message tests and each_rcpt functions allowed, with no warning that they do not run', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'spool.siv'), 'require "body";\nif anyof (header :contains "subject" "x", body :contains "y", size :over 1K) { ec_header_add "X-Spool" "1"; }\n');
    await writeFile(path.join(dir, 'each.siv'), 'require "envelope";\nif envelope :domain :is "to" "localdomain.com" { ec_maildir "%{vctx_mess:rcptto_localpart}@%{vctx_mess:rcptto_domain}"; }\nec_set_routing_gateway "relay.test";\n');
    await writeFile(path.join(dir, 'c.conf'), `spool_dir = "spool"\nsieve { script "spool_phase1" { source = "spool.siv" } script "each_rcpt_phase2" { source = "each.siv" } }\n`);
    const { config, diagnostics } = await loadConfig(path.join(dir, 'c.conf'));
    expect(diagnostics).toEqual([]);
    const compiled = await compileConfigScripts(config!);
    expect(compiled.diagnostics).toEqual([]);
    expect(Object.keys(compiled.scripts).sort()).toEqual(['each_rcpt', 'spool']);
    expect(compiled.scripts.spool!.phase1).toBeDefined();
    expect(compiled.scripts.each_rcpt!.phase2).toBeDefined();
  });
});

const DOCS = path.resolve('../shared/momentum-docs');
describe.skipIf(!existsSync(DOCS))("Momentum's csapi example, 010 with 152 (skipped: ../shared/momentum-docs is not beside the clone)", () => {
  it('loads, and the each_rcpt script refuses the message the DATA scan marked, with the virus name', async () => {
    const dir = await tempDir();
    const conf = await readFile(path.join(DOCS, 'configs/010-csapi-and-sieve-each-rcpt.conf'), 'utf8');
    // csapi_avscan is Momentum's scanner (not provided): the DATA script sets what it would, as the page describes.
    await writeFile(path.join(dir, 'csapi_scan.siv'), 'if header :contains "subject" "eicar" { vctx_mess_set "virus" "found"; vctx_mess_set "virus_info" "EICAR-Test-File"; }\n');
    await copyFile(path.join(DOCS, 'scripts/152-mod-csapi-virus.siv'), path.join(dir, 'csapi_process.siv'));
    await writeFile(path.join(dir, 'c.conf'), `spool_dir = "spool"\n${conf.replaceAll('/path/to/', '')}`);
    const { config, diagnostics } = await loadConfig(path.join(dir, 'c.conf'));
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const compiled = await compileConfigScripts(config!);
    expect(compiled.diagnostics.filter((d) => /not run/.test(d.message))).toEqual([]);
    expect(compiled.scripts.each_rcpt?.phase1).toBeDefined();

    const envelope = { from: 'alice@sender.test', to: ['bob@here.test', 'carol@here.test'] };
    const infected = await dryRun({ config: config!, envelope, message: 'From: alice@sender.test\nSubject: eicar\n\nx\n' });
    expect(infected.phases.filter((p) => p.phase === 'each_rcpt').map((p) => [p.recipient, p.replyText])).toEqual([
      ['bob@here.test', '550 5.0.0 Virus detected EICAR-Test-File'],
      ['carol@here.test', '550 5.0.0 Virus detected EICAR-Test-File'],
    ]);
    expect(infected.phases.find((p) => p.phase === 'data')!.replyText).toBe('550 5.0.0 Virus detected EICAR-Test-File');
    const clean = await dryRun({ config: config!, envelope, message: 'From: alice@sender.test\nSubject: hello\n\nx\n' });
    expect(clean.phases.find((p) => p.phase === 'data')!.reply.code).toBe(250);
  });
});
