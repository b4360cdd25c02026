/** `smtp-cbv check` reports validation errors (not only syntax errors) with positions. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

describe('smtp-cbv check with validation', () => {
  it('prints FILE:LINE:COL for an unknown capability and a bad argument, and exits 1', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'check-')), 'policy.sieve');
    writeFileSync(file, 'require "frobnicate";\nif header :is "subject" 42 { keep; }\n');
    const io = bufferIO();
    expect(await main(['check', file], io)).toBe(1);
    expect(io.stdout).toContain(`${file}:1:9: error: require command: unknown Sieve capability 'frobnicate'`);
    expect(io.stdout).toContain(`${file}:2:25: error: the header test expects a string list as argument 2 (key list), but a number was found`);
  });

  it('is silent and exits 0 for a valid script', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'check-')), 'ok.sieve');
    writeFileSync(file, 'require ["fileinto", "variables"];\nif header :matches "subject" "*x*" { fileinto "${1}"; }\n');
    const io = bufferIO();
    expect(await main(['check', file], io)).toBe(0);
    expect(io.stdout).toBe('');
  });
});
