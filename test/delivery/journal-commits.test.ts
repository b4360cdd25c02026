/**
 * When the envelope journal's commits start (journal-append-thread.ts):
 * after the turn a record arrived in, or, for a record handed over while
 * other messages were under way, once more records had a moment to join
 * it. The appender runs here on the test's own thread, with the timers
 * faked, so that "a moment" is the clock's and not the machine's.
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

  it('records handed over while others were under way together, once they had a moment to gather', async () => {
    const { a, first } = await appender();
    const b = track(a.journal(dir(), '{"id":"b"}\n', false, true));
    await vi.advanceTimersByTimeAsync(1);
    const c = track(a.journal(dir(), '{"id":"c"}\n', false, true));
    // A record with nothing beside it joins a commit that is gathering: it does not start one of its own.
    const d = track(a.journal(dir(), '{"id":"d"}\n'));
    await vi.advanceTimersByTimeAsync(1);
    expect([b.settled, c.settled, d.settled]).toEqual([false, false, false]);
    await vi.advanceTimersByTimeAsync(5);
    const ats = await Promise.all([b.at, c.at, d.at]);
    expect(ats.map((at) => at.commit)).toEqual([first.commit + 1, first.commit + 1, first.commit + 1]);
    expect(await journalIds()).toEqual(['first', 'b', 'c', 'd']);
  });

  it('gathered records without waiting out the moment once there are enough of them', async () => {
    const { a, first } = await appender();
    const many = Array.from({ length: 64 }, (_, i) => track(a.journal(dir(), `{"id":"m${i}"}\n`, false, true)));
    await vi.advanceTimersByTimeAsync(0);
    expect(many.every((t) => t.settled)).toBe(true);
    expect(new Set((await Promise.all(many.map((t) => t.at))).map((at) => at.commit))).toEqual(new Set([first.commit + 1]));
  });

  it('a record with nothing beside it after a gathered commit in a commit of its own, after the turn', async () => {
    const { a, first } = await appender();
    const b = track(a.journal(dir(), '{"id":"b"}\n', false, true));
    await vi.advanceTimersByTimeAsync(5);
    const c = track(a.journal(dir(), '{"id":"c"}\n'));
    await vi.advanceTimersByTimeAsync(0);
    expect([(await b.at).commit, (await c.at).commit]).toEqual([first.commit + 1, first.commit + 2]);
    expect(await journalIds()).toEqual(['first', 'b', 'c']);
  });
});
