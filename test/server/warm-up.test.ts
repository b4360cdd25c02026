/**
 * The libraries a policy's sessions load synchronously on first use are
 * loaded when the server starts or reloads with that policy, not by its
 * first message (src/server/warm-up.ts): a load under a message held every
 * session (mailauth for 270 ms and more). Read from Node's module cache,
 * in this test file's own process: a policy that needs none loads none.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startConfig, writeConfig } from '../helpers/config-server.js';

const require = createRequire(import.meta.url);
const loaded = (name: string): boolean => require.resolve(name) in require.cache;

let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-warm-'));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await rm(dir, { recursive: true, force: true });
});

it('loads at start what the scripts need, and at a reload what the new scripts need', async () => {
  expect(loaded('mailauth')).toBe(false);
  expect(loaded('libmime')).toBe(false);
  // No message phase, no signature: neither library is loaded.
  const running = await startConfig(await writeConfig(dir, { mailfrom_phase1: 'if envelope :regex "from" "^spam@" { reject "no"; }' }), cleanups);
  expect(loaded('re2js')).toBe(true);
  expect(loaded('libmime')).toBe(false);
  expect(loaded('mailauth')).toBe(false);

  const conf = join(dir, 'test.conf');
  await writeFile(conf, (await readFile(conf, 'utf8')).replace('}\n}', '}\n  script "data_phase1" { source = "data.siv" }\n}'));
  await writeFile(join(dir, 'data.siv'), '$p = hash_create; hash_set $p "selector" "sel1";\nec_dkim_sign $p;\n');
  expect((await running.reload()).filter((d) => d.severity === 'error')).toEqual([]);
  // Before any message: the reload loaded them.
  expect(loaded('libmime')).toBe(true);
  expect(loaded('mailauth')).toBe(true);
});
