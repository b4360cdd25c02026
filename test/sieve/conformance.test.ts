/**
 * Runs the Pigeonhole conformance tiers through the runner API: every test
 * of tier 1 (test/test_set/test_fail only) and of tiers 2-3 (compile errors,
 * result inspection) must pass. The suite is test data beside the repository
 * (../shared/pigeonhole/tests), never copied into it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSvtestFile } from '../../src/sieve/testsuite/runner.js';

const shared = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/pigeonhole');
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

  it('tier 1 has the 189 tests the tier list promises', async () => {
    let n = 0;
    for (const file of listed('tier1.txt')) n += (await runSvtestFile(join(shared, 'tests', file))).outcomes.length;
    expect(n).toBe(189);
  });
});
