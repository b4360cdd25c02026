/**
 * The queue's shares under workers (docs/delivery.md, "Workers"). Every
 * entry has one owner: two processes loading one entry would both deliver
 * it, and each would append its own attempts to one file.
 *
 * A queue run by a single process keeps its entries in `<queue_dir>/`
 * (entries/, control/), as it always has. Under `workers = N` the primary
 * gives each worker a slot from 0 to N-1, and the worker in slot k keeps
 * its own in `<queue_dir>/worker-<k>/` (slot 0 in `<queue_dir>/` itself).
 * A worker started in a dead one's place gets the dead one's slot, so it
 * takes over its entries and never its siblings'. A worker also takes over
 * every share whose slot is no more (a restart with fewer workers): share
 * s goes to slot s mod N, moved into its own directory by rename (the
 * share's process is gone; ids are unique across processes).
 *
 * The operator CLI reads and appends to every share (AllShards).
 */
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DirSync } from './dir-sync.js';
import { type EntryOnDisk, type EntryRecord, QueueFiles } from './queue-file.js';
import type { FileRange } from './file-range.js';
import { shareOf, type WorkerSlot } from '../ops/worker-slot.js';
import type { DeliveryConfig, DeliveryRoute } from '../config/index.js';

const SHARE_DIR = /^worker-([1-9][0-9]*)$/;

/** Where the share of `slot` lives. */
export function shareDir(queueDir: string, slot: number): string {
  return slot === 0 ? queueDir : join(queueDir, `worker-${slot}`);
}

/** The slots whose shares exist, 0 first. */
export async function shareSlots(queueDir: string): Promise<number[]> {
  const names = await readdir(queueDir).catch(() => [] as string[]);
  const slots = names.flatMap((n) => {
    const m = SHARE_DIR.exec(n);
    return m ? [Number(m[1])] : [];
  });
  return [0, ...slots.sort((a, b) => a - b)];
}

/**
 * Moves into `own` the entries of every share that no worker has now and
 * that falls to this slot, then removes the share. Returns how many entries
 * moved. An unfinished create (`.tmp`) was never acknowledged: it goes with
 * the share.
 */
export async function adoptShares(queueDir: string, own: QueueFiles, share: WorkerSlot): Promise<number> {
  let moved = 0;
  for (const slot of await shareSlots(queueDir)) {
    if (slot < share.workers || slot % share.workers !== share.slot) continue;
    const orphan = new QueueFiles(shareDir(queueDir, slot));
    for (const id of await orphan.ids(true)) {
      await rename(orphan.path(id), own.path(id));
      moved++;
    }
    // The renames are durable before the share's directory goes (docs/delivery.md, "Durability").
    if (moved) await new DirSync({ fsyncs: 0 }).sync(own.entries);
    // Left: control files (the entries' records hold the commands they name) and the share's vacation
    // memory (without it a sender may get one more reply, vacation-memory.ts).
    await rm(orphan.dir, { recursive: true, force: true });
  }
  return moved;
}

/**
 * A worker's part of the delivery limits, which Momentum sets for the whole
 * server: an even share of Server_Max_Outbound_Connections and of each
 * route's Max_Outbound_Connections, at least 1 (so a limit under the
 * number of workers is exceeded: docs/delivery.md, "Workers").
 */
export function limitsShare(config: DeliveryConfig, workers: number): DeliveryConfig {
  if (workers === 1) return config;
  const route = <R extends DeliveryRoute>(r: R): R => ({ ...r, maxOutboundConnections: shareOf(r.maxOutboundConnections, workers) });
  return {
    ...config,
    serverMaxOutboundConnections: shareOf(config.serverMaxOutboundConnections, workers),
    defaultRoute: route(config.defaultRoute),
    domains: Object.fromEntries(Object.entries(config.domains).map(([d, r]) => [d, route(r)])),
  };
}

/**
 * Every share read as one queue, for the operator CLI: an entry is found
 * in the share that holds it, and a command is appended to its file there
 * and announced to that share's owner.
 */
export class AllShards {
  private readonly owner = new Map<string, QueueFiles>();

  private constructor(private readonly shares: QueueFiles[]) {}

  static async open(queueDir: string): Promise<AllShards> {
    return new AllShards((await shareSlots(queueDir)).map((slot) => new QueueFiles(shareDir(queueDir, slot))));
  }

  /** Ids of every entry in every share, oldest first. */
  async ids(_removeLeftovers?: false): Promise<string[]> {
    const all: string[] = [];
    for (const files of this.shares) {
      for (const id of await files.ids(false)) {
        this.owner.set(id, files);
        all.push(id);
      }
    }
    return all.sort();
  }

  entry(id: string): Promise<EntryOnDisk> {
    return this.holder(id).entry(id);
  }

  message(id: string): Promise<FileRange> {
    return this.holder(id).message(id);
  }

  append(id: string, records: readonly EntryRecord[]): Promise<void> {
    return this.holder(id).append(id, records);
  }

  kick(id: string): Promise<void> {
    return this.holder(id).kick(id);
  }

  /** The share holding `id` when it was listed (share 0 when it never was: its file is then not found there either). */
  private holder(id: string): QueueFiles {
    return this.owner.get(id) ?? this.shares[0]!;
  }
}
