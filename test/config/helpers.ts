import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';
import { formatDiagnostic } from '../../src/diagnostics.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A temporary directory with these files (paths relative to it); removed after the test. */
export function tree(files: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smtp-cbv-config-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  return dir;
}

/** Loads text that must be valid; a failure shows the diagnostics. */
export function load(text: string, file = '/etc/smtp-cbv/test.conf'): Config {
  const r = parseConfigText(text, file);
  if (!r.config) throw new Error(r.diagnostics.map((d) => formatDiagnostic(d)).join('\n'));
  return r.config;
}

/** The formatted diagnostics of text that must be invalid. */
export function errors(text: string, file = 'test.conf'): string[] {
  const r = parseConfigText(text, file);
  expectNull(r.config);
  return r.diagnostics.map((d) => formatDiagnostic(d));
}

function expectNull(config: Config | null): void {
  if (config !== null) throw new Error('expected the configuration to be refused');
}
