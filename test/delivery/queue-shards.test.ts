/**
 * The queue's shares under workers (src/delivery/queue-shards.ts): where
 * each slot keeps its entries, which orphaned shares a slot takes over,
 * and the operator's view of all of them.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendCommand, readEntries } from '../../src/delivery/queue-commands.js';
import { type EntryHeader, newQueueId, QueueFiles } from '../../src/delivery/queue-file.js';
import { adoptShares, AllShards, limitsShare, shareDir, shareSlots } from '../../src/delivery/queue-shards.js';
import { configFor } from '../helpers/queue-fixture.js';
import { shareOf, workerSlot } from '../../src/ops/worker-slot.js';

let dir: string;
const header = (id: string): EntryHeader => ({ v: 1, id, kind: 'message', from: 'a@sender.test', recipients: [{ address: 'b@rcpt.test' }], receivedAt: 1, size: 0 });

/** A share with `n` entries; returns its files and their ids. */
async function share(slot: number, n: number): Promise<{ files: QueueFiles; ids: string[] }> {
  const files = new QueueFiles(shareDir(dir, slot));
  await files.init();
  const ids = Array.from({ length: n }, () => newQueueId());
  await files.create(ids.map((id) => ({ header: header(id), message: Buffer.from(`message ${id}`) })));
  return { files, ids };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-queue-shards-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('queue shares', () => {
  it('slot 0 is the queue directory itself, so a single process finds the queue where it always was', async () => {
    expect(shareDir(dir, 0)).toBe(dir);
    expect(shareDir(dir, 3)).toBe(join(dir, 'worker-3'));
    await share(2, 1);
    await writeFile(join(dir, 'worker-x'), '');
    expect(await shareSlots(dir)).toEqual([0, 2]);
  });

  it('takes over the shares of slots that are no more, each by exactly one slot, and leaves live ones alone', async () => {
    const s0 = await share(0, 1);
    const s1 = await share(1, 2);
    const s2 = await share(2, 3);
    const s3 = await share(3, 1);
    // An unfinished create of the dead process: never acknowledged, not taken over.
    await writeFile(join(s2.files.entries, `${newQueueId()}.tmp`), 'half');
    await writeFile(join(s3.files.dir, 'vacation.json'), '{}');
    // Two workers now: share 2 falls to slot 0, share 3 to slot 1.
    expect(await adoptShares(dir, s0.files, { slot: 0, workers: 2 })).toBe(3);
    expect(await adoptShares(dir, s1.files, { slot: 1, workers: 2 })).toBe(1);
    expect((await s0.files.ids()).sort()).toEqual([...s0.ids, ...s2.ids].sort());
    expect((await s1.files.ids()).sort()).toEqual([...s1.ids, ...s3.ids].sort());
    expect(await shareSlots(dir)).toEqual([0, 1]);
    expect((await readdir(dir)).sort()).toEqual(['control', 'entries', 'worker-1']);
    // Nothing is left to take.
    expect(await adoptShares(dir, s0.files, { slot: 0, workers: 2 })).toBe(0);
    // Read back whole from its new place.
    expect((await s0.files.read(s2.ids[0]!)).message.toString()).toBe(`message ${s2.ids[0]}`);
  });

  it('lets the operator read every share as one queue, and appends a command where the entry is', async () => {
    const s0 = await share(0, 1);
    const s1 = await share(1, 2);
    const all = await AllShards.open(dir);
    const entries = await readEntries(all);
    expect(entries.map((e) => e.state.header.id)).toEqual([...s0.ids, ...s1.ids].sort());
    const id = s1.ids[1]!;
    await appendCommand(all, id, 'flush');
    expect((await s1.files.read(id)).records.map((r) => r.t)).toEqual(['flush']);
    // The owner of share 1 is the one woken.
    expect((await readdir(s1.files.control)).map((n) => n.split('.')[0])).toEqual([id]);
    expect(await readdir(s0.files.control)).toEqual([]);
  });

  it('reads its slot from the environment the primary sets, and is the whole queue otherwise', () => {
    expect(workerSlot({ SMTP_CBV_WORKER_SLOT: '1', SMTP_CBV_WORKERS: '3' })).toEqual({ slot: 1, workers: 3 });
    expect(workerSlot({})).toEqual({ slot: 0, workers: 1 });
    expect(workerSlot({ SMTP_CBV_WORKER_SLOT: '3', SMTP_CBV_WORKERS: '3' })).toEqual({ slot: 0, workers: 1 });
    expect(workerSlot({ SMTP_CBV_WORKER_SLOT: 'x', SMTP_CBV_WORKERS: '2' })).toEqual({ slot: 0, workers: 1 });
  });

  it('splits a bound for the whole server into even shares of at least 1', () => {
    expect(shareOf(512, 1)).toBe(512);
    expect(shareOf(1000, 3)).toBe(333);
    expect(shareOf(2, 4)).toBe(1);
  });

  it("gives each worker its share of the delivery limits, each route's too", () => {
    const { delivery } = configFor('Gateway = "127.0.0.1:25"\nServer_Max_Outbound_Connections = 100\nMax_Outbound_Connections = 10\nDomain "one.test" { Max_Outbound_Connections = 1 }', dir);
    expect(limitsShare(delivery, 1)).toBe(delivery);
    const share = limitsShare(delivery, 4);
    expect(share.serverMaxOutboundConnections).toBe(25);
    expect(share.defaultRoute.maxOutboundConnections).toBe(2);
    expect(share.domains['one.test']!.maxOutboundConnections).toBe(1);
    expect(delivery.serverMaxOutboundConnections).toBe(100);
  });
});
