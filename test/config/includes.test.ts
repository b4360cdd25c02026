import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfigFile, loadConfig } from '../../src/config/index.js';
import { MAX_FILES, MAX_TOTAL_BYTES } from '../../src/config/includes.js';
import { formatDiagnostic } from '../../src/diagnostics.js';
import { tree } from './helpers.js';

async function loadErrors(file: string): Promise<string[]> {
  const r = await loadConfig(file);
  expect(r.config).toBeNull();
  return r.diagnostics.map((d) => formatDiagnostic(d));
}

describe('include', () => {
  it('includes a file relative to the including file, inside a scope too', async () => {
    const dir = tree({
      'main.conf': 'include "conf/cbv.conf"\nsieve { include "conf/scripts.inc" }',
      'conf/cbv.conf': 'smtp_cbv "c" { include port.inc }',
      'conf/port.inc': 'port = 2526',
      'conf/scripts.inc': 'script mailfrom_phase1 { source = "../policy/m.siv" }',
    });
    const r = await loadConfig(path.join(dir, 'main.conf'));
    expect(r.diagnostics).toEqual([]);
    expect(r.config?.smtpCbv).toMatchObject({ name: 'c', port: 2526 });
    // A path in an included file is relative to that file.
    expect(r.config?.sieve.scripts[0]?.path).toBe(path.join(dir, 'policy/m.siv'));
  });

  it('readonly_include loads like include', async () => {
    const dir = tree({ 'main.conf': 'readonly_include "a.conf"', 'a.conf': 'logging { level = warn }' });
    expect((await loadConfig(path.join(dir, 'main.conf'))).config?.logging.level).toBe('warn');
  });

  it('a directory includes its files in lexical order, skipping dot-files and subdirectories', async () => {
    const dir = tree({
      'main.conf': 'include "conf.d"',
      'conf.d/20-sieve.conf': 'sieve { script data_phase1 { source = d.siv } }',
      'conf.d/10-cbv.conf': 'smtp_cbv { port = 2600 }',
      'conf.d/.hidden.conf': 'this is not { valid',
      'conf.d/sub/x.conf': 'also = { invalid',
    });
    const r = await loadConfig(path.join(dir, 'main.conf'));
    expect(r.diagnostics).toEqual([]);
    expect(r.config?.smtpCbv?.port).toBe(2600);
    expect(r.config?.sieve.scripts).toHaveLength(1);
  });

  it('orders directory entries lexically: a later file\'s duplicate is the one reported', async () => {
    const dir = tree({ 'main.conf': 'include d', 'd/b.conf': 'spool_dir = b', 'd/a.conf': 'spool_dir = a' });
    const errs = await loadErrors(path.join(dir, 'main.conf'));
    expect(errs[0]).toContain(`${path.join(dir, 'd/b.conf')}:1:1: error: duplicate option 'spool_dir'`);
    expect(errs[0]).toContain(`first set at ${path.join(dir, 'd/a.conf')}:1:1`);
  });

  it('an error inside an included file shows the include chain', async () => {
    const dir = tree({ 'main.conf': '\ninclude "a.conf"', 'a.conf': 'smtp_cbv {\n  include "b.conf"\n}', 'b.conf': 'port = nope' });
    const r = await loadConfig(path.join(dir, 'main.conf'));
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({
      file: path.join(dir, 'b.conf'), line: 1, column: 8,
      includedFrom: [{ file: path.join(dir, 'main.conf'), line: 2, column: 1 }, { file: path.join(dir, 'a.conf'), line: 2, column: 3 }],
    });
    expect(formatDiagnostic(r.diagnostics[0]!).split('\n')).toEqual([
      `${path.join(dir, 'b.conf')}:1:8: error: port: expected an integer from 1 to 65535, found 'nope'`,
      `  included from ${path.join(dir, 'main.conf')}:2:1`,
      `  included from ${path.join(dir, 'a.conf')}:2:3`,
    ]);
  });

  it('a syntax error in an included file is reported there too', async () => {
    const dir = tree({ 'main.conf': 'include "a.conf"\nfoo = 1', 'a.conf': 'x = (' });
    const errs = await loadErrors(path.join(dir, 'main.conf'));
    expect(errs.some((e) => e.startsWith(`${path.join(dir, 'a.conf')}:1:`) && e.includes('included from'))).toBe(true);
    expect(errs.some((e) => e.includes("unknown option 'foo'"))).toBe(true);
  });

  it('a cycle is an error, not a hang', async () => {
    const dir = tree({ 'main.conf': 'include "a.conf"', 'a.conf': 'include "b.conf"', 'b.conf': 'include "a.conf"' });
    const errs = await loadErrors(path.join(dir, 'main.conf'));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/b\.conf:1:1: error: include cycle: a\.conf -> b\.conf -> a\.conf/);
  });

  it('a file including itself, or a directory including its includer, is a cycle', async () => {
    const self = tree({ 'main.conf': 'include "main.conf"' });
    expect((await loadErrors(path.join(self, 'main.conf')))[0]).toMatch(/include cycle: main\.conf -> main\.conf/);
    const viaDir = tree({ 'main.conf': 'include "."' });
    expect((await loadErrors(path.join(viaDir, 'main.conf')))[0]).toMatch(/include cycle/);
  });

  it('include fan-out is bounded (diamonds would multiply)', async () => {
    const files: Record<string, string> = { 'main.conf': 'include l1' };
    for (let level = 1; level <= 10; level++) {
      for (const n of ['a', 'b', 'c']) files[`l${level}/${n}.conf`] = level < 10 ? `include "../l${level + 1}"` : '';
    }
    const dir = tree(files);
    const errs = await loadErrors(path.join(dir, 'main.conf'));
    expect(errs.some((e) => e.includes(`more than ${MAX_FILES} files included`))).toBe(true);
  });

  it('the bytes included by one load are bounded', async () => {
    const files: Record<string, string> = { 'main.conf': 'include big' };
    const chunk = `# ${'x'.repeat(1000)}\n`.repeat(900); // about 0.9 MB of comments per file
    for (let i = 0; i < Math.ceil(MAX_TOTAL_BYTES / chunk.length) + 1; i++) files[`big/${String(i).padStart(2, '0')}.conf`] = chunk;
    const errs = await loadErrors(path.join(tree(files), 'main.conf'));
    expect(errs).toEqual([expect.stringContaining(`more than ${MAX_TOTAL_BYTES} bytes of configuration included`)]);
  });

  it('devices and pipes are refused, not read', async () => {
    const errs = await loadErrors(path.join(tree({ 'main.conf': 'include "/dev/zero"' }), 'main.conf'));
    expect(errs).toEqual([expect.stringContaining("error: cannot include '/dev/zero': it is not a regular file")]);
    expect((await loadErrors('/dev/null'))[0]).toMatch(/is not a regular file/);
    const dir = tree({ 'main.conf': 'include "conf.d"', 'conf.d/a.conf': Buffer.from([1, 0, 2]) });
    expect(await loadErrors(path.join(dir, 'main.conf'))).toEqual([
      `${path.join(dir, 'main.conf')}:1:1: error: cannot include 'conf.d/a.conf': it is a binary file, not configuration text`,
    ]);
  });

  it('a missing include target is reported at the include', async () => {
    const dir = tree({ 'main.conf': 'smtp_cbv { }\ninclude "nope.conf"' });
    expect(await loadErrors(path.join(dir, 'main.conf'))).toEqual([
      `${path.join(dir, 'main.conf')}:2:1: error: cannot include 'nope.conf': no such file or directory`,
    ]);
  });
});

describe('loading never crashes', () => {
  it('a missing file, a directory, a binary file and an unreadable file are diagnostics', async () => {
    const dir = tree({ 'bin.conf': Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0xff]), 'secret.conf': 'a = 1' });
    expect(await loadErrors(path.join(dir, 'none.conf'))).toEqual([`${path.join(dir, 'none.conf')}:1:1: error: cannot read '${path.join(dir, 'none.conf')}': no such file or directory`]);
    expect((await loadErrors(dir))[0]).toMatch(/is a directory, not a configuration file/);
    expect((await loadErrors(path.join(dir, 'bin.conf')))[0]).toMatch(/is a binary file/);
    fs.chmodSync(path.join(dir, 'secret.conf'), 0);
    if (process.getuid?.() !== 0) expect((await loadErrors(path.join(dir, 'secret.conf')))[0]).toMatch(/permission denied/);
  });

  it('checkConfigFile returns the diagnostics alone', async () => {
    const dir = tree({ 'ok.conf': 'smtp_cbv { }', 'bad.conf': 'smtp_cbv { port = 0 }' });
    expect(await checkConfigFile(path.join(dir, 'ok.conf'))).toEqual([]);
    expect(await checkConfigFile(path.join(dir, 'bad.conf'))).toHaveLength(1);
  });
});

describe('file encoding', () => {
  it('ignores a UTF-8 byte order mark and accepts CRLF line ends', async () => {
    const dir = tree({ 'bom.conf': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('smtp_cbv {\r\n  port = 2525\r\n}\r\n')]) });
    const r = await loadConfig(path.join(dir, 'bom.conf'));
    expect(r.diagnostics).toEqual([]);
    expect(r.config?.smtpCbv?.port).toBe(2525);
  });
});
