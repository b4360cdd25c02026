/**
 * When the spool writer hands its jobs to the thread (spool-writer.ts): a
 * job with nothing under way after the turn it came in; one that came
 * while others were in the thread held for a moment, so that the jobs of
 * that moment go over together and their records share a commit
 * (journal-append-thread.ts). The thread is real; the event loop's timers
 * are faked, so that "a moment" is the test's and not the machine's.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, expect, it, vi } from 'vitest';
import { SpoolWriter } from '../../src/delivery/spool-writer.js';
import type { SpoolJob } from '../../src/delivery/spool-writer-protocol.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';

const dir = tempDirPerTest('spool-gather-');
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const turn = () => new Promise((resolve) => setImmediate(resolve));

function writer() {
  const posted = vi.spyOn(Worker.prototype, 'postMessage');
  const w = new SpoolWriter({ journalLimit: 1 << 20 });
  const write = (id: string) => w.write({ record: { dir: dir(), line: `{"id":"${id}"}\n` } });
  /** The ids of each hand-over so far. */
  const handed = () => posted.mock.calls.map(([jobs]) => (jobs as SpoolJob[]).map((j) => (JSON.parse(j.record!.line) as { id: string }).id));
  return { write, handed };
}

it('holds the jobs that come while another is in the thread, and hands them over together', async () => {
  // setImmediate stays real: the writer hands a lone job over after its turn.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const { write, handed } = writer();
  const first = write('first');
  await turn();
  // Its answer needs a journal file made and synced, so it is still out when the next come, a turn apart.
  expect(handed()).toEqual([['first']]);
  const second = write('second');
  await turn();
  const third = write('third');
  await turn();
  expect(handed()).toEqual([['first']]);
  await vi.advanceTimersByTimeAsync(3);
  expect(handed()).toEqual([['first'], ['second', 'third']]);
  await Promise.all([first, second, third]);
  // Nothing under way: a job goes after its turn.
  const alone = write('alone');
  await turn();
  expect(handed()).toEqual([['first'], ['second', 'third'], ['alone']]);
  await alone;
});

it('hands the held jobs over without waiting out the moment once 64 have gathered', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const { write, handed } = writer();
  const first = write('first');
  await turn();
  const many = Array.from({ length: 64 }, (_, i) => write(`m${i}`));
  await turn();
  expect(handed().map((ids) => ids.length)).toEqual([1, 64]);
  await Promise.all([first, ...many]);
});
