/** `smtp-cbv test`: per-file lines, per-folder counts, skip list, exit codes, the JSON summary line. */
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSkipList } from '../../src/cli/commands/test.js';
import { bufferIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

function suite(): string {
  const dir = mkdtempSync(join(tmpdir(), 'svtest-'));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'ok.svtest'), 'require "vnd.dovecot.testsuite";\ntest "one" { if false { test_fail "no"; } }\ntest "two" { }\n');
  writeFileSync(join(dir, 'sub', 'bad.svtest'), 'require "vnd.dovecot.testsuite";\ntest "fails" { test_fail "on purpose"; }\n');
  return dir;
}

describe('smtp-cbv test', () => {
  it('fails on a failing test and prints the JSON summary last', async () => {
    const dir = suite();
    const io = bufferIO();
    expect(await main(['test', dir, '--json'], io)).toBe(1);
    const lines = io.stdout.trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toEqual({ files: 2, tests: 3, passed: 2, failed: 1, skipped: 0 });
    expect(io.stdout).toContain('FAIL sub/bad.svtest (0/1)');
    expect(io.stdout).toContain('failed: fails: on purpose');
    expect(io.stdout).toContain('sub: 0 passed, 1 failed, 0 skipped');
  });

  it('fails, without crashing, on a file no runner takes', async () => {
    const dir = suite();
    writeFileSync(join(dir, 'cases.txt'), 'nothing');
    const io = bufferIO();
    expect(await main(['test', join(dir, 'cases.txt')], io)).toBe(1);
    expect(io.stdout).toContain('no test runner for this kind of file');
  });

  it('passes when the failing file is in the skip list, which needs reasons', async () => {
    const dir = suite();
    writeFileSync(join(dir, 'skip.txt'), 'sub/bad.svtest # fails on purpose\n');
    const io = bufferIO();
    expect(await main(['test', dir, '--json', '--skip-list', join(dir, 'skip.txt')], io)).toBe(0);
    expect(JSON.parse(io.stdout.trim().split('\n').at(-1)!)).toMatchObject({ passed: 2, failed: 0, skipped: 1 });
    expect(parseSkipList('a.svtest\n').errors).toHaveLength(1);
  });
});
