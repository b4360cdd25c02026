/**
 * What the installed binary loads to run `check` (docs/architecture.md
 * "Start-up"): the one bundle in dist/cli/ with its code cache, no package
 * from node_modules (the two it needs are in the bundle), and none of the
 * Node modules only other subcommands need. A preloaded script records, at
 * exit, every CommonJS module and built-in the process loaded; a module
 * loader hook records every URL Node resolves as an ES module.
 * How long it takes is measured in bench/startup.bench.ts, not here.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '../../bin/smtp-cbv.js');
const dist = join(import.meta.dirname, '../../dist/cli');
// Registers a resolve hook that prints each resolved URL on stderr.
const hook = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent("export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('resolved ' + r.url + '\\\\n'); return r; }"));`,
)}`;
const recorder = `process.on('exit', () => {
  for (const f of Object.keys(require.cache)) process.stderr.write('required ' + f + '\\n');
  for (const m of process.moduleLoadList) process.stderr.write('builtin ' + m + '\\n');
});`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-startup-'));
  await writeFile(join(dir, 'recorder.cjs'), recorder);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Every line the recorders printed, by kind: `resolved`, `required` or `builtin`. */
async function loaded(...args: string[]): Promise<Record<'resolved' | 'required' | 'builtin', string[]>> {
  return record(['--import', hook], args);
}

/** The same, run with the given options for node; without the resolve hook, whose loader thread loads node:worker_threads itself. */
async function record(nodeOptions: string[], args: string[]): Promise<Record<'resolved' | 'required' | 'builtin', string[]>> {
  const { stderr } = await promisify(execFile)(process.execPath, [...nodeOptions, '--require', join(dir, 'recorder.cjs'), bin, ...args]);
  const out = { resolved: [] as string[], required: [] as string[], builtin: [] as string[] };
  for (const line of stderr.split('\n')) {
    const m = /^(resolved|required|builtin) (.*)$/.exec(line);
    if (m) out[m[1] as keyof typeof out].push(m[2]!);
  }
  return out;
}

/** The packages among loaded files and URLs (scoped names keep their scope). */
const packagesIn = (files: string[]) => [...new Set(files.map((f) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter((p) => p !== undefined))];

describe('smtp-cbv check, as installed', () => {
  it('runs the bundle and loads no package and none of the server-side Node modules', async () => {
    const script = join(dir, 'one.siv');
    await writeFile(script, 'require "fileinto";\nfileinto "INBOX.x";\n');
    const { resolved, required, builtin } = await loaded('check', script);
    expect(required.filter((f) => f.includes('/dist/'))).toEqual([join(dist, 'loader.cjs')]);
    expect(packagesIn([...resolved, ...required])).toEqual([]);
    // tsc's unbundled output is not what the binary runs.
    expect(resolved.filter((u) => u.includes('/dist/'))).toEqual([]);
    // commander requires child_process only to run executable subcommands; random values and async file reads are not needed.
    for (const m of ['child_process', 'crypto', 'fs/promises']) expect(builtin).not.toContain(`NativeModule ${m}`);
  });

  it('loads neither worker threads nor the performance timers for a check, which starts no worker and runs no script', async () => {
    const script = join(dir, 'one.siv');
    await writeFile(script, 'require "fileinto";\nfileinto "INBOX.x";\n');
    const { builtin } = await record([], ['check', script]);
    expect(builtin).toContain('NativeModule vm');
    for (const m of ['worker_threads', 'perf_hooks']) expect(builtin).not.toContain(`NativeModule ${m}`);
  });

  it('lists every subcommand for --help without loading any package', async () => {
    const { resolved, required } = await loaded('--help');
    expect(packagesIn([...resolved, ...required])).toEqual([]);
  });

  it('runs with the code cache that the build saved', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      '-e',
      `const { loadBundle } = require(${JSON.stringify(join(dist, 'loader.cjs'))}); console.log(loadBundle(${JSON.stringify(join(dist, 'main.cjs'))}).cacheUsed)`,
    ]);
    expect(stdout.trim()).toBe('true');
  });

  it('runs without the cache when V8 refuses it', async () => {
    // A copy of the bundle beside a cache that is not V8's: compiled as usual, same answer.
    const copy = join(dir, 'copy');
    await mkdir(copy);
    await copyFile(join(dist, 'main.cjs'), join(copy, 'main.cjs'));
    await writeFile(join(copy, 'main.cjs.cache'), 'not a code cache');
    const script = join(dir, 'bad.siv');
    await writeFile(script, 'keep\n');
    const { stdout } = await promisify(execFile)(process.execPath, [
      '-e',
      `const l = require(${JSON.stringify(join(dist, 'loader.cjs'))}).loadBundle(${JSON.stringify(join(copy, 'main.cjs'))});
l.exports.main(['check', ${JSON.stringify(script)}]).then((code) => console.log(l.cacheUsed, code));`,
    ]);
    expect(stdout.trim().split('\n')).toEqual([`${script}:2:1: error: expected ';' or '{' after command 'keep', found end of script`, 'false 1']);
  });
});
