/**
 * When the envelope journal's commits start (journal-append-thread.ts):
 * after the turn a record arrived in, with every record appended in that
 * turn (the jobs of one hand-over, spool-writer.ts). The appender runs
 * here on the test's own thread, with the timers faked, so that the turns
 * are the test's.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { durableWrites } from '../../src/delivery/durable-writes-thread.js';
import { journalAppender, type RecordAt } from '../../src/delivery/journal-append-thread.js';
import { records } from '../helpers/journal-records.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';

const dir = tempDirPerTest('journal-commits-');
afterEach(() => {
  vi.useRealTimers();
});

/** An appender with its journal file made: the first commit goes through the thread pool, with real timers. */
async function appender() {
  const { writeAll, fsyncDir } = durableWrites();
  const a = journalAppender({ journalLimit: 1 << 26, adopted: [], writeAll, fsyncDir, opened: () => undefined, rolled: () => undefined });
  const first = await a.journal(dir(), '{"id":"first"}\n');
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
  return { a, first };
}

/** The record's RecordAt once it is durable; `settled` says whether it is yet. */
function track(p: Promise<RecordAt>) {
  const t = { settled: false, at: p };
  void p.then(() => (t.settled = true));
  return t;
}

/** The ids of the journal's records, in the order they are in it (its first record is the machine's boot). */
async function journalIds(): Promise<string[]> {
  const [file] = (await readdir(dir())).filter((n) => n.endsWith('.journal'));
  return records(await readFile(join(dir(), file!), 'utf8')).flatMap((line) => {
    const { id } = JSON.parse(line) as { id?: string };
    return id === undefined ? [] : [id];
  });
}

describe('the journal commits', () => {
  it('a record with nothing beside it after the turn it arrived in', async () => {
    const { a, first } = await appender();
    const lone = track(a.journal(dir(), '{"id":"lone"}\n'));
    await vi.advanceTimersByTimeAsync(0);
    expect(lone.settled).toBe(true);
    expect((await lone.at).commit).toBe(first.commit + 1);
  });

  it('records appended in one turn in one commit, after that turn', async () => {
    const { a, first } = await appender();
    const appended = ['b', 'c', 'd'].map((id) => track(a.journal(dir(), `{"id":"${id}"}\n`)));
    expect(appended.map((t) => t.settled)).toEqual([false, false, false]);
    await vi.advanceTimersByTimeAsync(0);
    const ats = await Promise.all(appended.map((t) => t.at));
    expect(ats.map((at) => at.commit)).toEqual([first.commit + 1, first.commit + 1, first.commit + 1]);
    expect(await journalIds()).toEqual(['first', 'b', 'c', 'd']);
  });

  it('a record appended in a later turn in a commit of its own', async () => {
    const { a, first } = await appender();
    const b = track(a.journal(dir(), '{"id":"b"}\n'));
    await vi.advanceTimersByTimeAsync(0);
    const c = track(a.journal(dir(), '{"id":"c"}\n'));
    await vi.advanceTimersByTimeAsync(0);
    expect([(await b.at).commit, (await c.at).commit]).toEqual([first.commit + 1, first.commit + 2]);
    expect(await journalIds()).toEqual(['first', 'b', 'c']);
  });
});
