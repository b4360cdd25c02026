/**
 * Which jobs the spool writer marks as handed over beside others
 * (spool-writer.ts): a record's commit waits for other messages' records
 * only when there are others (journal-append-thread.ts).
 */
import { Worker } from 'node:worker_threads';
import { afterEach, expect, it, vi } from 'vitest';
import { SpoolWriter } from '../../src/delivery/spool-writer.js';
import type { SpoolJob } from '../../src/delivery/spool-writer-protocol.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';

const dir = tempDirPerTest('spool-shared-');
afterEach(() => {
  vi.restoreAllMocks();
});

it('marks a job handed over while another is in the thread, and not one handed over alone', async () => {
  const posted = vi.spyOn(Worker.prototype, 'postMessage');
  const writer = new SpoolWriter({ journalLimit: 1 << 20 });
  const record = (id: string) => ({ record: { dir: dir(), line: `{"id":"${id}"}\n` } });
  const first = writer.write(record('first'));
  // The first job is handed over after this turn; its answer needs a journal file made and synced, so it is still out
  // when the second is handed over, a turn later.
  await new Promise((resolve) => setImmediate(resolve));
  const second = writer.write(record('second'));
  await Promise.all([first, second]);
  await writer.write(record('alone'));
  const handed = posted.mock.calls.map(([jobs]) => (jobs as SpoolJob[]).map((j) => [JSON.parse(j.record!.line).id, j.shared === true]));
  expect(handed).toEqual([[['first', false]], [['second', true]], [['alone', false]]]);
});
