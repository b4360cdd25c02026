import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { readRecords } from '../../src/delivery/envelope-journal.js';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import { SpoolWriter, spoolWriter } from '../../src/delivery/spool-writer.js';
import { records } from '../helpers/journal-records.js';

let dir: string;
let spool: MaildirSpool;
const envelope = {
  mailFrom: 'alice@sender.example',
  recipients: ['bob@here.example'],
  client: { address: '127.0.0.1', helo: 'client.example' },
  receivedAt: '2026-11-24T00:00:00.000Z',
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-spool-'));
  spool = new MaildirSpool(join(dir, 'spool'));
  await spool.init();
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('MaildirSpool', () => {
  it('writes the message into new/ and its envelope into the journal, leaving tmp/ empty', async () => {
    const m = await spool.deliver('INBOX', [Buffer.from('Subject: hi\r\n'), Buffer.from('\r\nbody\r\n')], envelope);
    expect(m.path).toBe(join(dir, 'spool', 'new', m.id));
    expect(await readFile(m.path, 'utf8')).toBe('Subject: hi\r\n\r\nbody\r\n');
    expect(await spool.envelopes()).toEqual(new Map([[m.id, { id: m.id, ...envelope, folder: 'INBOX' }]]));
    // One line per message in one journal file, not a file per message: after the machine's boot, the record with the message's octets (journal first).
    const journals = await readdir(join(dir, 'spool', 'envelopes'));
    expect(journals).toHaveLength(1);
    const [boot, record] = records(await readFile(join(dir, 'spool', 'envelopes', journals[0]!), 'utf8')).map((l) => JSON.parse(l) as unknown);
    expect(boot).toEqual({ boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() });
    expect(record).toEqual({ id: m.id, ...envelope, folder: 'INBOX', octets: Buffer.from('Subject: hi\r\n\r\nbody\r\n').toString('base64') });
    expect(await readdir(join(dir, 'spool', 'tmp'))).toEqual([]);
  });

  it('gives every message a distinct name', async () => {
    const ids = await Promise.all(Array.from({ length: 50 }, () => spool.deliver('INBOX', Buffer.from('x'), envelope)));
    expect(new Set(ids.map((m) => m.id)).size).toBe(50);
    expect(await readdir(join(dir, 'spool', 'new'))).toHaveLength(50);
    expect([...(await spool.envelopes()).keys()].sort()).toEqual(ids.map((m) => m.id).sort());
    expect(await readdir(join(dir, 'spool', 'envelopes'))).toHaveLength(1);
  });

  it('files into Maildir++ folders, and refuses names that leave the spool', async () => {
    const m = await spool.deliver('Lists/Announce', Buffer.from('x'), envelope);
    expect(m.path).toBe(join(dir, 'spool', '.Lists.Announce', 'new', m.id));
    expect(spool.folderDir('inbox')).toBe(join(dir, 'spool'));
    await expect(spool.deliver('../../etc', Buffer.from('x'), envelope)).rejects.toThrow(/invalid folder name/);
    await expect(spool.deliver('a/../b', Buffer.from('x'), envelope)).rejects.toThrow(/invalid folder name/);
  });

  it('removes everything it wrote when a write fails', async () => {
    // A file where the folder's new/ directory should be makes the final rename fail.
    await spool.deliver('Broken', Buffer.from('first'), envelope).catch(() => undefined);
    await rm(join(dir, 'spool', '.Broken', 'new'), { recursive: true, force: true });
    await writeFile(join(dir, 'spool', '.Broken', 'new'), 'not a directory');
    await expect(spool.deliver('Broken', Buffer.from('second'), envelope)).rejects.toThrow();
    expect(await readdir(join(dir, 'spool', 'tmp'))).toEqual([]);
    expect(await spool.envelopes()).toEqual(new Map());
  });

  // Up to 256 KiB a message is written by the spool writer's thread; past that, from the event loop.
  for (const [size, way] of [[1000, 'the spool writer thread'], [300 * 1024, 'the event loop']] as const) {
    it(`a message of ${size} octets (${way}): stored whole, and when its file cannot be made, its envelope is not left behind`, async () => {
      const body = Buffer.alloc(size, 'm');
      const m = await spool.deliver('INBOX', [Buffer.from('Received: x\r\n'), body], envelope);
      expect((await readFile(m.path)).equals(Buffer.concat([Buffer.from('Received: x\r\n'), body]))).toBe(true);
      expect(await spool.envelopes()).toEqual(new Map([[m.id, { id: m.id, ...envelope, folder: 'INBOX' }]]));
      // Without tmp/ the message's file fails at once, while its envelope is being appended.
      await rm(join(dir, 'spool', 'tmp'), { recursive: true });
      await expect(spool.deliver('INBOX', body, { ...envelope, transaction: 'failed' })).rejects.toThrow(/ENOENT/);
      expect(await readdir(join(dir, 'spool', 'new'))).toEqual([m.id]);
      // Its record may be in the journal, but without its message it is no envelope, and start-up drops it.
      expect([...(await spool.envelopes()).keys()]).toEqual([m.id]);
      await spool.recover();
      const journal = await readdir(join(dir, 'spool', 'envelopes'));
      expect(journal).toHaveLength(1);
      expect(await readFile(join(dir, 'spool', 'envelopes', journal[0]!), 'utf8')).not.toContain('failed');
    });
  }

  it('recovers after a crash: drops tmp leftovers, records without a message and a torn last record', async () => {
    const kept = await spool.deliver('INBOX', Buffer.from('kept'), envelope);
    await writeFile(join(dir, 'spool', 'tmp', 'half-written'), 'partial');
    // What a crash leaves: another process's journal with a record whose message was never renamed, then half a record.
    await writeFile(join(dir, 'spool', 'envelopes', '1.P999999999.R0.journal'), `${JSON.stringify({ id: 'orphan', ...envelope })}\n{"id":"torn","mailF`);
    expect(await spool.recover()).toEqual({ removedTmp: 1, removedEnvelopes: 1, restored: 0 });
    const journals = await readdir(join(dir, 'spool', 'envelopes'));
    expect(journals).toHaveLength(1);
    expect(await readFile(join(dir, 'spool', 'envelopes', journals[0]!), 'utf8')).toBe(`${JSON.stringify({ id: kept.id, ...envelope, folder: 'INBOX' })}\n`);
    expect(await readdir(join(dir, 'spool', 'new'))).toEqual([kept.id]);
    // Nothing left to do: the next start leaves the journal as it is.
    expect(await spool.recover()).toEqual({ removedTmp: 0, removedEnvelopes: 0, restored: 0 });
    expect(await readdir(join(dir, 'spool', 'envelopes'))).toEqual(journals);
  });

  it('starts over a spool written before the journal: envelope files of messages still there become records', async () => {
    const old = { ...envelope, folder: 'INBOX' };
    await writeFile(join(dir, 'spool', 'new', '1700000000.M1P1Q1.host'), 'old message');
    await writeFile(join(dir, 'spool', 'cur', '1700000000.M2P1Q2.host:2,S'), 'old message, read');
    await writeFile(join(dir, 'spool', 'envelopes', '1700000000.M1P1Q1.host.json'), JSON.stringify(old, null, 2));
    await writeFile(join(dir, 'spool', 'envelopes', '1700000000.M2P1Q2.host.json'), JSON.stringify({ ...old, recipients: ['carol@here.example'] }, null, 2));
    await writeFile(join(dir, 'spool', 'envelopes', '1700000000.M3P1Q3.host.json'), JSON.stringify(old, null, 2));
    const before = await spool.envelopes();
    expect([...before.keys()].sort()).toEqual(['1700000000.M1P1Q1.host', '1700000000.M2P1Q2.host']);
    expect(await spool.recover()).toEqual({ removedTmp: 0, removedEnvelopes: 1, restored: 0 });
    expect((await readdir(join(dir, 'spool', 'envelopes'))).filter((n) => n.endsWith('.json'))).toEqual([]);
    expect(await spool.envelopes()).toEqual(before);
    expect(before.get('1700000000.M2P1Q2.host')).toEqual({ id: '1700000000.M2P1Q2.host', ...old, recipients: ['carol@here.example'] });
  });

  it("leaves alone the journal of another process still running on the spool", async () => {
    const running = `1.P${process.ppid}.R000000000000.journal`;
    await writeFile(join(dir, 'spool', 'envelopes', running), `${JSON.stringify({ id: 'in-flight', ...envelope })}\n`);
    await writeFile(join(dir, 'spool', 'envelopes', '1.P999999999.R000000000000.journal'), `${JSON.stringify({ id: 'gone', ...envelope })}\n`);
    expect(await spool.recover()).toEqual({ removedTmp: 0, removedEnvelopes: 1, restored: 0 });
    expect(await readdir(join(dir, 'spool', 'envelopes'))).toEqual([running]);
  });

  it('starts a new journal file past its size, and start-up folds them into one', async () => {
    const writer = new SpoolWriter({ journalLimit: 1000 });
    const small = new MaildirSpool(join(dir, 'spool'), writer);
    // Start-up's compaction alone: a roll's own would race it (in a server, start-up comes before any write).
    writer.onRoll(small.envelopeDir, () => undefined);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await small.deliver('INBOX', Buffer.from(`m${i}`), envelope)).id);
    expect((await readdir(join(dir, 'spool', 'envelopes'))).length).toBeGreaterThan(1);
    expect([...(await small.envelopes()).keys()].sort()).toEqual(ids.sort());
    await small.recover();
    expect(await readdir(join(dir, 'spool', 'envelopes'))).toHaveLength(1);
    expect([...(await small.envelopes()).keys()].sort()).toEqual(ids.sort());
  });
});

describe('the spool writer thread', () => {
  it('a message in hand when the thread dies fails (the client hears 451), and the next one starts a new thread', async () => {
    await spool.deliver('INBOX', Buffer.from('first'), envelope);
    const thread = (spoolWriter as unknown as { worker: Worker }).worker;
    const inHand = spool.deliver('INBOX', Buffer.from('in hand'), envelope);
    // The thread is told to stop before the message is handed to it (at the end of this turn): handed over, it is never
    // answered. Stopped a turn later, a thread that commits at once could answer before it stopped.
    const stopped = thread.terminate();
    await expect(inHand).rejects.toThrow(/spool writer thread exited/);
    await stopped;
    const after = await spool.deliver('INBOX', Buffer.from('after'), envelope);
    expect(await readFile(after.path, 'utf8')).toBe('after');
    expect((spoolWriter as unknown as { worker: Worker }).worker).not.toBe(thread);
    // The new thread, once it has written, compacts the dead one's journal: done before the spool is removed,
    // or its files land in a directory being deleted (a clean-clone CI run under load met ENOTEMPTY there).
    await settled(spool);
  });
});

/*
 * The envelope journal compacted while the server runs (envelope-journal.ts;
 * docs/server.md, "The spool"): when a journal reaches its size limit, the
 * journals the process has closed are rewritten in the spool writer's
 * thread with only the records of messages still in a folder's new/ or
 * cur/, or still being delivered, so a long-running server's journal does
 * not grow with every message it ever accepted.
 */
const journals = async () => (await readdir(join(dir, 'spool', 'envelopes'))).filter((n) => n.endsWith('.journal'));
const recordIds = async () => [...(await readRecords(join(dir, 'spool', 'envelopes'))).records.keys()].sort();

/**
 * Until every compaction the rolls started is done. Each roll queues one behind the one running
 * (MaildirSpool.compactJournals), so under load several wait at once: waiting for the one running
 * only left the others to finish after the test had counted the journals.
 */
async function settled(spool: MaildirSpool): Promise<void> {
  const running = () => (spool as unknown as { compacting: Promise<unknown> | undefined }).compacting;
  for (;;) {
    const now = running();
    if (now) await now.catch(() => undefined);
    // A queued compaction starts in the turn after the one before it ends.
    await new Promise((r) => setImmediate(r));
    if (!running()) return;
  }
}

describe('the envelope journal while the server runs', () => {
  it('keeps only the records of messages still in the spool, whatever the number of messages accepted', async () => {
    const spool = new MaildirSpool(join(dir, 'spool'), new SpoolWriter({ journalLimit: 2000 }));
    await spool.init();
    const kept: string[] = [];
    for (let round = 0; round < 5; round++) {
      const delivered = [];
      for (let i = 0; i < 20; i++) delivered.push(await spool.deliver(i % 2 ? 'INBOX' : 'Lists/A', Buffer.from(`m${round}.${i}`), envelope));
      // A reader takes most of them away; one is read (moved to cur/ with flags), and stays.
      await spool.remove(delivered.slice(2));
      const read = delivered[0]!;
      await rename(read.path, join(read.path, '..', '..', 'cur', `${read.id}:2,S`));
      kept.push(read.id, delivered[1]!.id);
    }
    await settled(spool);
    // 100 messages accepted, about 250 octets of record each, journals of 2,000 octets: without compaction about 13 files and
    // 100 records. The rolls compacted on their own; what the last round's reader took away waits for the next roll.
    expect((await journals()).length).toBeLessThanOrEqual(4);
    const ids = await recordIds();
    for (const id of kept) expect(ids).toContain(id);
    expect(ids.length).toBeLessThan(kept.length + 40);
    // Asked for now, the closed journals keep exactly the messages still there (the open one is left alone).
    await spool.compactJournals();
    expect((await recordIds()).length).toBeLessThan(kept.length + 10);
    const envelopes = await spool.envelopes();
    expect([...envelopes.keys()].sort()).toEqual([...kept].sort());
    expect(envelopes.get(kept[0]!)).toEqual({ id: kept[0], ...envelope, folder: 'Lists/A' });
  });

  it('keeps the record of a message being delivered, not yet visible', async () => {
    const writer = new SpoolWriter({ journalLimit: 1 });
    const spool = new MaildirSpool(join(dir, 'spool'), writer);
    // Only the compaction asked for below: one on its own at each roll would run without `keep`, at a time of its choosing.
    writer.onRoll(spool.envelopeDir, () => undefined);
    await spool.init();
    const gone = await spool.deliver('INBOX', Buffer.from('gone'), envelope);
    await spool.remove([gone]);
    // A record in a closed journal whose message is not renamed yet: as a large message's is between its record and its rename.
    await writer.write({ record: { dir: spool.envelopeDir, line: `${JSON.stringify({ id: 'in-flight', ...envelope, folder: 'INBOX' })}\n` } });
    const r = await writer.compact({ dir: spool.envelopeDir, spoolDir: spool.dir, keep: ['in-flight'] });
    expect(r.dropped).toBeGreaterThanOrEqual(1);
    expect(await recordIds()).toEqual(['in-flight']);
  });

  it('compacts the journal of a writer thread that died once the next thread has written, without a restart', async () => {
    const writer = new SpoolWriter({ journalLimit: 1 << 20 });
    const spool = new MaildirSpool(join(dir, 'spool'), writer);
    await spool.init();
    const gone = await spool.deliver('INBOX', Buffer.from('read and deleted'), envelope);
    const stays = await spool.deliver('INBOX', Buffer.from('still there'), envelope);
    await spool.remove([gone]);
    const [deadJournal] = await journals();
    await (writer as unknown as { worker: Worker }).worker.terminate();
    const after = await spool.deliver('INBOX', Buffer.from('after'), envelope);
    // The compaction the new thread's first answer started.
    await new Promise((r) => setImmediate(r));
    await settled(spool);
    expect(await journals()).not.toContain(deadJournal);
    expect(await recordIds()).toEqual([stays.id, after.id].sort());
  });

  it('compacts every journal of a cluster worker that died, as the worker started in its place', async () => {
    const envelopes = join(dir, 'spool', 'envelopes');
    const deadPid = 2 ** 22 + 7; // above any pid_max: never this process's
    const line = (id: string) => `${JSON.stringify({ id, ...envelope, folder: 'INBOX' })}\n`;
    const visible = await spool.deliver('INBOX', Buffer.from('visible'), envelope);
    await writeFile(join(envelopes, `1700000000000.P${deadPid}.Rabcdef.journal`), line(visible.id) + line('never-visible'));
    await writeFile(join(envelopes, `1700000000001.P${deadPid}.compacted.journal`), line('read-and-deleted'));
    const adopting = new MaildirSpool(join(dir, 'spool'), new SpoolWriter({ journalLimit: 1 << 20, adopt: { files: [], pids: [deadPid] } }));
    const r = await adopting.compactJournals();
    expect(r).toMatchObject({ files: 2, dropped: 2 });
    expect((await journals()).filter((n) => n.includes(`.P${deadPid}.`))).toEqual([]);
    expect((await readRecords(envelopes)).records.has(visible.id)).toBe(true);
    expect(await recordIds()).toEqual([visible.id]);
  });

  it('leaves the journal being appended to alone', async () => {
    const spool = new MaildirSpool(join(dir, 'spool'), new SpoolWriter({ journalLimit: 1 << 20 }));
    await spool.init();
    const m = await spool.deliver('INBOX', Buffer.from('one'), envelope);
    await spool.remove([m]);
    expect(await spool.compactJournals()).toEqual({ files: 0, kept: 0, dropped: 0 });
    expect(await recordIds()).toEqual([m.id]);
  });
});
