/**
 * `smtp-cbv test <files or dirs...>`: runs test files, dispatching by file
 * extension (`.svtest`: Pigeonhole-style Sieve tests; `.yaml`/`.yml`:
 * policy case files, src/runner). `--coverage` reports the lines and
 * branches of each policy script the case files exercised. Prints one line per file and per-folder counts; exits 1 when
 * anything fails that the skip list does not name. `--json` ends the output
 * with one summary line.
 *
 * Skip list: one entry a line, `PATH # reason`, PATH relative to the
 * directory given on the command line (or to the file's folder). An entry
 * without a reason is refused: a skip must say why.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Command } from 'commander';
import type { Coverage } from '../../runner/coverage.js';
import type { SvtestReport } from '../../sieve/index.js';
import { type CliIO, EXIT } from '../io.js';
import type { ExitCodeSink } from '../main.js';

type Runner = (file: string, options: { coverage?: Coverage }) => Promise<SvtestReport>;
/**
 * Test runners by file extension, each imported when a file needs it (the
 * CLI's other subcommands load neither).
 */
const caseFile: Runner = async (f, o) => (await import('../../runner/run-cases.js')).runCaseFile(f, o);
const runners: Record<string, Runner> = {
  '.svtest': async (f) => (await import('../../sieve/testsuite/runner.js')).runSvtestFile(f),
  '.yaml': caseFile,
  '.yml': caseFile,
};
/**
 * A file named on the command line runs by its extension; in a directory
 * only `*.cases.yaml` are case files (other YAML there is not ours).
 */
const runnerFor = (f: string, named = true): Runner | undefined =>
  named || !/\.ya?ml$/.test(f) || /\.cases\.ya?ml$/.test(f) ? Object.entries(runners).find(([ext]) => f.endsWith(ext))?.[1] : undefined;

export interface SkipEntry {
  path: string;
  reason: string;
}

export function parseSkipList(text: string): { entries: SkipEntry[]; errors: string[] } {
  const entries: SkipEntry[] = [];
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const hash = t.indexOf(' # ');
    const reason = hash < 0 ? '' : t.slice(hash + 3).trim();
    if (!reason) {
      errors.push(`skip list line ${i + 1}: an entry needs a reason ("PATH # reason")`);
      return;
    }
    entries.push({ path: t.slice(0, hash).trim().replace(/^\.\//, ''), reason });
  });
  return { entries, errors };
}

async function collect(p: string): Promise<Array<{ file: string; root: string }>> {
  const s = await stat(p);
  if (!s.isDirectory()) return [{ file: p, root: dirname(p) }];
  const out: Array<{ file: string; root: string }> = [];
  const walk = async (d: string) => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (runnerFor(e.name, false)) out.push({ file: full, root: p });
    }
  };
  await walk(p);
  return out;
}

export interface TestSummary {
  files: number;
  tests: number;
  passed: number;
  failed: number;
  skipped: number;
}

export async function runTestPaths(paths: string[], skips: SkipEntry[], io: CliIO, coverage?: Coverage): Promise<TestSummary> {
  const sum: TestSummary = { files: 0, tests: 0, passed: 0, failed: 0, skipped: 0 };
  const folders = new Map<string, { passed: number; failed: number; skipped: number }>();
  for (const p of paths) {
    for (const { file, root } of await collect(p)) {
      const rel = relative(root, file) || file;
      const runner = runnerFor(file);
      // A file named on the command line that no runner takes is a failure, not a crash.
      const report = runner
        ? await runner(file, coverage ? { coverage } : {})
        : { file, outcomes: [{ name: '(file)', passed: false, reason: 'no test runner for this kind of file' }] };
      const skip = skips.find((s) => s.path === rel || file.endsWith(`/${s.path}`));
      const folder = dirname(rel);
      const f = folders.get(folder) ?? { passed: 0, failed: 0, skipped: 0 };
      folders.set(folder, f);
      sum.files++;
      const passed = report.outcomes.filter((o) => o.passed).length;
      const failed = report.outcomes.length - passed;
      sum.tests += report.outcomes.length;
      if (skip) {
        sum.skipped += report.outcomes.length;
        f.skipped += report.outcomes.length;
        io.out(`skip ${rel} (${skip.reason})\n`);
        continue;
      }
      sum.passed += passed;
      sum.failed += failed;
      f.passed += passed;
      f.failed += failed;
      io.out(`${failed ? 'FAIL' : 'pass'} ${rel} (${passed}/${report.outcomes.length})\n`);
      for (const o of report.outcomes) if (!o.passed) io.out(`  failed: ${o.name}: ${o.reason ?? ''}\n`);
    }
  }
  io.out('\n');
  for (const [folder, f] of [...folders].sort(([a], [b]) => a.localeCompare(b))) {
    io.out(`${folder}: ${f.passed} passed, ${f.failed} failed, ${f.skipped} skipped\n`);
  }
  io.out(`total: ${sum.files} files, ${sum.tests} tests, ${sum.passed} passed, ${sum.failed} failed, ${sum.skipped} skipped\n`);
  return sum;
}

export function registerTest(program: Command, io: CliIO, exit: ExitCodeSink): void {
  program
    .command('test')
    .description('run .svtest files (Pigeonhole testsuite format) and policy case files (.yaml); exit 1 on any failure not in the skip list')
    .argument('<paths...>', 'test files or directories')
    .option('--coverage', 'show which lines and branches of each policy script the case files exercised')
    .option('--skip-list <file>', 'files to skip, one "PATH # reason" a line')
    .option('--json', 'end with a JSON summary line')
    .action(async (paths: string[], opts: { skipList?: string; json?: boolean; coverage?: boolean }) => {
      let skips: SkipEntry[] = [];
      if (opts.skipList) {
        const parsed = parseSkipList(await readFile(opts.skipList, 'utf8'));
        if (parsed.errors.length) {
          for (const e of parsed.errors) io.err(`${e}\n`);
          exit.code = EXIT.usage;
          return;
        }
        skips = parsed.entries;
      }
      const coverage = opts.coverage ? new (await import('../../runner/coverage.js')).Coverage() : undefined;
      const sum = await runTestPaths(paths, skips, io, coverage);
      if (coverage) io.out(`\ncoverage:\n${coverage.report()}`);
      if (opts.json) io.out(`${JSON.stringify(sum)}\n`);
      exit.code = sum.failed > 0 ? EXIT.failure : EXIT.ok;
    });
}
