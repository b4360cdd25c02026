/**
 * What the installed binary loads to run `check` (docs/architecture.md
 * "Start-up"): the bundle in dist/cli/, and of the packages only the two the
 * compiler needs. A module loader hook records every URL Node resolves.
 * How long it takes is measured in bench/startup.bench.ts, not here.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '../../bin/smtp-cbv.js');
// Registers a resolve hook that prints each resolved URL on stderr.
const hook = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent("export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('resolved ' + r.url + '\\\\n'); return r; }"));`,
)}`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-startup-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function loaded(...args: string[]): Promise<string[]> {
  const { stderr } = await promisify(execFile)(process.execPath, ['--import', hook, bin, ...args]);
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('resolved '))
    .map((l) => l.slice('resolved '.length));
}

/** The package a node_modules URL belongs to (scoped names keep their scope). */
const packageOf = (url: string) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];

describe('smtp-cbv check, as installed', () => {
  it('runs the bundle and loads only the packages compiling needs', async () => {
    const script = join(dir, 'one.siv');
    await writeFile(script, 'require "fileinto";\nfileinto "INBOX.x";\n');
    const urls = await loaded('check', script);
    const ours = urls.filter((u) => u.startsWith('file:') && !u.includes('/node_modules/'));
    expect(ours.some((u) => u.includes('/dist/cli/'))).toBe(true);
    // tsc's unbundled output is not what the binary runs.
    expect(ours.filter((u) => u.includes('/dist/src/') || u.includes('/dist/grammars/'))).toEqual([]);
    const packages = new Set(urls.map(packageOf).filter((p) => p !== undefined));
    expect([...packages].sort()).toEqual(['chevrotain', 'commander']);
  });

  it('lists every subcommand for --help without loading any package but commander', async () => {
    const packages = new Set((await loaded('--help')).map(packageOf).filter((p) => p !== undefined));
    expect([...packages]).toEqual(['commander']);
  });
});
