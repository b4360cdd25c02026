/**
 * The opendkim module signs without a script asking (src/session/dkim-auto.ts):
 * a server configured so loads mailauth, its signer, at start, not under the
 * first message it signs (src/server/warm-up.ts). In this test file's own
 * process, as test/server/warm-up.test.ts reads the module cache.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startConfig, writeConfig } from '../helpers/config-server.js';

const require = createRequire(import.meta.url);
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

it('loads the signer at start when the opendkim module signs by itself, with no script asking', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-warm-sign-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  expect(require.resolve('mailauth') in require.cache).toBe(false);
  await startConfig(await writeConfig(dir, { connect_phase1: 'keep;' }, 'opendkim { selector = "s1" sign_condition = "auth_user" }'), cleanups);
  expect(require.resolve('mailauth') in require.cache).toBe(true);
});
