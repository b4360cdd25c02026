import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import setup from './temp-root.js';

describe('the test run\'s temporary directory', () => {
  it('is where this worker makes temporary files: the run removes them all at its end', () => {
    expect(basename(tmpdir())).toMatch(/^smtp-cbv-test-/);
  });

  it('is made, handed to child processes through TMPDIR, and removed with what was left in it', () => {
    const outer = process.env.TMPDIR;
    const outerDir = tmpdir();
    const teardown = setup();
    const root = tmpdir();
    try {
      expect(process.env.TMPDIR).toBe(root);
      expect(dirname(root)).toBe(outerDir);
      const left = mkdtempSync(join(tmpdir(), 'forgotten-'));
      writeFileSync(join(left, 'file'), 'x');
    } finally {
      teardown();
    }
    expect(existsSync(root)).toBe(false);
    expect(process.env.TMPDIR).toBe(outer);
  });
});
