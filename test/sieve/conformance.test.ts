/**
 * Runs the Pigeonhole conformance tiers through the runner API: every test
 * of tier 1 (test/test_set/test_fail only) and of tiers 2-3 (compile errors,
 * result inspection) must pass. The suite is test data beside the repository
 * (../shared/pigeonhole/tests), never copied into it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSkipList } from '../../src/cli/commands/test.js';
import { runSvtestFile } from '../../src/sieve/testsuite/runner.js';

const here = dirname(fileURLToPath(import.meta.url));
const shared = resolve(here, '../../../shared/pigeonhole');
const listed = (tier: string): string[] =>
  readFileSync(join(shared, tier), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

describe.skipIf(!existsSync(shared))('Pigeonhole conformance', () => {
  for (const tier of ['tier1.txt', 'tier23.txt']) {
    describe(tier, () => {
      for (const file of listed(tier)) {
        it(file, async () => {
          const report = await runSvtestFile(join(shared, 'tests', file));
          const failed = report.outcomes.filter((o) => !o.passed).map((o) => `${o.name}: ${o.reason}`);
          expect(failed).toEqual([]);
          expect(report.outcomes.length).toBeGreaterThan(0);
        });
      }
    });
  }

  it('every file of the suite passes unless the skip list names it (with a reason)', async () => {
    const { entries, errors } = parseSkipList(readFileSync(resolve(here, '../conformance/skip-list.txt'), 'utf8'));
    expect(errors).toEqual([]);
    const failed: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.name.endsWith('.svtest')) {
          const rel = relative(join(shared, 'tests'), full);
          if (entries.some((s) => s.path === rel)) continue;
          const report = await runSvtestFile(full);
          for (const o of report.outcomes) if (!o.passed) failed.push(`${rel}: ${o.name}: ${o.reason}`);
        }
      }
    };
    await walk(join(shared, 'tests'));
    expect(failed).toEqual([]);
  }, 60_000);

  it('tier 1 has the 189 tests the tier list promises', async () => {
    let n = 0;
    for (const file of listed('tier1.txt')) n += (await runSvtestFile(join(shared, 'tests', file))).outcomes.length;
    expect(n).toBe(189);
  });
});
