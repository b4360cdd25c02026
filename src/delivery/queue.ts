/**
 * The delivery queue (docs/delivery.md): a long-lived service that keeps
 * every accepted message durably (queue-file.ts) until each recipient is
 * delivered, bounced or expired. It schedules attempts per destination
 * (at most `Max_Outbound_Connections` in flight to one), retries deferred
 * recipients on the back-off schedule (retry.ts), sends RFC 3464 bounces
 * and delay notices through itself, and takes operator commands that the
 * CLI appends to an entry's file (a control file wakes it up).
 *
 * A restart reads every entry back and goes on: recipients that were in
 * flight when the process died are tried again, which is the one place a
 * duplicate can come from (the next hop said 250 and we died before
 * recording it).
 *
 * An entry whose recipients all wait for a later retry is parked: its
 * state leaves memory (its file holds all of it, as a restart shows) and
 * it is read back when the retry is due or an operator command names it,
 * so a backlog of deferred mail costs its timers, not its envelopes
 * (docs/delivery.md, "The queue").
 */
import type { Logger } from 'pino';
import type { DeliveryConfig } from '../config/index.js';
import { type Reply, wireText } from '../session/reply.js';
import { NoticeSender } from './queue-notice-sender.js';
import { OPERATOR_BOUNCE } from './queue-notices.js';
import type { MaildirSpool } from './maildir.js';
import { ControlWatcher } from './queue-control.js';
import { OutboundPool } from './outbound.js';
import { attemptRecord, dueJobs, type Job, type Live } from './queue-attempts.js';
import { apply, type EntryState, finished, isFinal, pending, replay } from './queue-entry.js';
import { type EntryHeader, type EntryOnDisk, type EntryRecord, type FsyncCounter, QueueFiles } from './queue-file.js';
import { entryHeader, type NewEntry } from './queue-new-entry.js';
import { type ParkedEntry, ParkedEntries, pendingCounts } from './queue-parking.js';
import { adoptShares, limitsShare, shareDir } from './queue-shards.js';
import type { WorkerSlot } from '../ops/worker-slot.js';
import { NextHops } from './routes.js';
import type { RecipientResult } from './smtp-sender.js';
import { deliverBatch } from './transport.js';
import { DeliverySlots } from './delivery-slots.js';

export interface QueueOptions {
  config: DeliveryConfig;
  spool: MaildirSpool;
  logger: Logger;
  /** Our name: Reporting-MTA of bounces, and EHLO unless EHLO_Hostname says otherwise. */
  hostname: string;
  /** Each recipient's outcome of an attempt (delivered, deferred, bounced, expired), for metrics. */
  onOutcome?(outcome: string): void;
  /** This process's share of the queue under workers (queue-shards.ts); the whole queue by default. */
  share?: WorkerSlot;
}

/** A new entry's message up to this size stays in memory for its first attempt (as a received one does, docs/server.md). */
const KEPT_UNTIL_FIRST_ATTEMPT = 128 * 1024;

const MAX_TIMER = 2 ** 31 - 1;

export class DeliveryQueue {
  readonly files: QueueFiles;
  /** fsyncs made and entries written, for the benchmark and docs/delivery.md. */
  readonly stats: FsyncCounter & { entriesWritten: number } = { fsyncs: 0, entriesWritten: 0 };
  private readonly entries = new Map<string, Live>();
  /** Deferred entries whose state is on disk until their next retry (queue-parking.ts). */
  private readonly parked = new ParkedEntries((p) => this.wake(p));
  private readonly slots = new DeliverySlots<Job>((job) => this.run(job), () => this.config.serverMaxOutboundConnections);
  private config: DeliveryConfig;
  /** This process's share of the queue (queue-shards.ts). */
  private readonly share: WorkerSlot;
  private readonly hops: NextHops;
  private readonly pool: OutboundPool;
  private stopped = false;
  private readonly control: ControlWatcher;
  /** Bounces and delay notices to senders (queue-notice-sender.ts). */
  private readonly notices: NoticeSender;

  private constructor(private readonly o: QueueOptions) {
    this.share = o.share ?? { slot: 0, workers: 1 };
    this.config = limitsShare(o.config, this.share.workers);
    this.files = new QueueFiles(shareDir(o.config.queueDir, this.share.slot), this.stats);
    this.hops = new NextHops(this.config);
    this.pool = new OutboundPool(this.config.serverMaxOutboundConnections);
    this.control = new ControlWatcher(this.files.control, (ids) => this.commands(ids));
    this.notices = new NoticeSender({ files: this.files, logger: o.logger, hostname: o.hostname, config: () => this.config, add: (news) => this.add(news) });
  }

  /** Opens the queue directory, reads back every entry and starts delivering. */
  static async open(o: QueueOptions): Promise<DeliveryQueue> {
    const q = new DeliveryQueue(o);
    await q.files.init();
    await o.spool.init();
    const adopted = await adoptShares(o.config.queueDir, q.files, q.share);
    if (adopted) o.logger.info({ event: 'queue.adopted', entries: adopted, slot: q.share.slot }, 'queue entries of workers that are no more taken over');
    let loaded = 0;
    for (const id of await q.files.ids()) {
      try {
        const file = await q.files.entry(id);
        const live: Live = { state: replay(file), jobs: 0 };
        q.entries.set(id, live);
        loaded++;
      } catch (e) {
        o.logger.error({ event: 'queue.unreadable', queue: id, err: (e as Error).message }, 'queue entry unreadable; left in place');
      }
    }
    o.logger.info({ event: 'queue.ready', dir: q.files.dir, entries: loaded }, 'delivery queue ready');
    for (const live of q.entries.values()) void q.settle(live);
    q.control.start();
    return q;
  }

  /** Writes new entries all or none, then schedules them. Resolves with their ids. */
  async add(news: readonly NewEntry[]): Promise<string[]> {
    const now = Date.now();
    const made = news.map((n) => ({ header: entryHeader(n, now), message: n.message }));
    await this.files.create(made);
    this.stats.entriesWritten += made.length;
    for (const m of made) {
      // A large message (spooled as it arrived, or a large redirect copy) is read from its entry file when delivered, not kept:
      // entries waiting for a busy destination would otherwise hold theirs until their turn.
      const keep = Buffer.isBuffer(m.message) && m.message.length <= KEPT_UNTIL_FIRST_ATTEMPT;
      const live: Live = { state: replay({ header: m.header, records: [] }), ...(keep ? { message: m.message as Buffer } : {}), jobs: 0 };
      this.entries.set(m.header.id, live);
      this.o.logger.debug({ event: 'queue.add', queue: m.header.id, kind: m.header.kind, from: m.header.from, recipients: m.header.recipients.map((r) => r.address), size: m.header.size }, 'queued');
      this.schedule(live);
    }
    return made.map((m) => m.header.id);
  }

  reconfigure(next: DeliveryConfig): void {
    const config = (this.config = limitsShare(next, this.share.workers));
    this.hops.configure(config);
    this.pool.maxIdle = config.serverMaxOutboundConnections;
    // A larger Server_Max_Outbound_Connections frees slots now, not at the next delivery's end.
    this.slots.released();
  }

  /** Every entry's state, a parked one's read from its file: for tests and the running server's own views. */
  async snapshot(): Promise<EntryState[]> {
    const states = [...this.entries.values()].map((l) => l.state);
    // One file at a time: a large backlog must not open every file at once.
    for (const id of this.parked.ids()) {
      const file = await this.files.entry(id).catch(() => undefined);
      if (file) states.push(replay(file));
    }
    return states;
  }

  /** How many entries have their state in memory, and how many are parked. */
  residency(): { inMemory: number; parked: number } {
    return { inMemory: this.entries.size, parked: this.parked.size };
  }

  /** Recipients not yet delivered, bounced or expired, by state (the metrics' queue depth). */
  depth(): Record<string, number> {
    const out: Record<string, number> = {};
    const add = (counts: Record<string, number>) => {
      for (const [state, n] of Object.entries(counts)) out[state] = (out[state] ?? 0) + n;
    };
    for (const l of this.entries.values()) add(pendingCounts(l.state));
    for (const p of this.parked.values()) add(p.counts);
    return out;
  }

  /** Stops scheduling; waits up to `deadlineMs` for attempts in flight. */
  async stop(deadlineMs = 5000): Promise<void> {
    this.stopped = true;
    this.control.stop();
    for (const l of this.entries.values()) if (l.timer) clearTimeout(l.timer);
    this.parked.stop();
    await this.slots.stop(deadlineMs);
    this.pool.closeAll();
  }

  /** Puts an entry's due recipients on their destinations' waiting lists; sets a timer for the rest. */
  private schedule(live: Live): void {
    if (this.stopped || live.state.deleted) return;
    const now = Date.now();
    const { groups, nextAt } = dueJobs(live, now, this.config);
    if (live.timer) clearTimeout(live.timer);
    live.timer = undefined;
    if (groups.size === 0 && live.jobs === 0 && nextAt !== Infinity) return this.park(live, nextAt);
    if (nextAt !== Infinity) {
      live.timer = setTimeout(() => {
        live.timer = undefined;
        this.schedule(live);
      }, Math.min(MAX_TIMER, Math.max(0, nextAt - now)));
      live.timer.unref();
    }
    for (const job of groups.values()) this.slots.add(job, job.dest.key, job.dest.route.method === 'maildir' ? 4 : job.dest.route.maxOutboundConnections);
  }

  private async run({ entry, dest, indexes }: Job): Promise<void> {
    entry.jobs++;
    const h = entry.state.header;
    try {
      // A retry, or a message not kept from acceptance, is read from its entry file as it is sent.
      const message = entry.message ?? (await this.files.message(h.id));
      if (this.stopped) return;
      const batch = indexes.map((i) => entry.state.recipients[i]!).map((r) => ({ address: r.address, ...(r.folders ? { folders: r.folders } : {}) }));
      const results = await deliverBatch(dest, h, message, batch, {
        config: this.config,
        hops: this.hops,
        spool: this.o.spool,
        pool: this.pool,
        helo: this.o.hostname,
        onFsyncs: (n) => (this.stats.fsyncs += n),
      });
      await this.record(entry, indexes, results);
    } catch (e) {
      this.o.logger.error({ event: 'delivery.error', queue: h.id, err: (e as Error).message }, 'delivery attempt failed');
      // Back to deferred in memory; the file still says what it said, and a restart retries.
      for (const i of indexes) {
        const r = entry.state.recipients[i]!;
        if (r.state === 'delivering') {
          r.state = 'deferred';
          r.next = Date.now() + this.config.retryIntervalMs;
        }
      }
    } finally {
      entry.jobs--;
      await this.settle(entry);
    }
  }

  /** Appends one attempt's results; bounces are queued when the entry settles (one per entry). */
  private async record(entry: Live, indexes: number[], results: RecipientResult[]): Promise<void> {
    const h = entry.state.header;
    const now = Date.now();
    const records: EntryRecord[] = results.map((res, k) => {
      const i = indexes[k]!;
      const n = entry.state.recipients[i]!.attempts + 1;
      this.o.logger.info(
        { event: 'delivery.attempt', queue: h.id, kind: h.kind, recipient: res.recipient, hop: res.hop ?? null, outcome: res.outcome, attempt: n, reply: wireText(res.reply) },
        `${h.id} ${res.recipient} ${res.outcome}: ${res.reply.code}`,
      );
      const record = attemptRecord(h, res, i, n, now, this.config);
      this.o.onOutcome?.(record.s);
      return record;
    });
    // Only a lost "delivered" costs nothing but a second delivery: no fsync for it (queue-file.ts).
    await this.files.append(h.id, records, records.some((r) => r.t === 'r' && r.s !== 'delivered'));
    for (const rec of records) {
      apply(entry.state, rec);
      if (rec.t === 'r' && isFinal(entry.state.recipients[rec.i]!)) this.logFinal(h, entry.state.recipients[rec.i]!.address, rec.s, rec.reply, rec.hop);
    }
  }

  /** After an entry's attempts: operator bounces, the bounce, delay notices, removal when done, else the next schedule. */
  private async settle(entry: Live): Promise<void> {
    const h = entry.state.header;
    if (entry.jobs > 0) {
      this.schedule(entry);
      return;
    }
    try {
      if (!entry.state.deleted) {
        const now = Date.now();
        const asked = entry.state.recipients.map((r, i) => [r, i] as const).filter(([r]) => r.bounceRequested && pending(r));
        if (asked.length) {
          const records: EntryRecord[] = asked.map(([r, i]) => ({ t: 'r', i, s: 'bounced', at: now, n: r.attempts, reply: OPERATOR_BOUNCE }));
          await this.files.append(h.id, records);
          for (const rec of records) apply(entry.state, rec);
          for (const [r] of asked) this.logFinal(h, r.address, 'bounced', OPERATOR_BOUNCE);
        }
        await this.notices.bounce(entry);
        await this.notices.delayNotice(entry);
      }
    } catch (e) {
      this.o.logger.error({ event: 'queue.error', queue: h.id, err: (e as Error).message }, 'queue bookkeeping failed');
    }
    if (finished(entry.state)) {
      if (entry.timer) clearTimeout(entry.timer);
      this.entries.delete(h.id);
      await this.files.remove(h.id).catch(() => undefined);
      this.o.logger.debug({ event: 'queue.done', queue: h.id, deleted: entry.state.deleted }, 'queue entry done');
      return;
    }
    entry.message = undefined;
    this.schedule(entry);
  }

  private logFinal(h: EntryHeader, recipient: string, state: string, reply?: Reply, hop?: string): void {
    this.o.logger.info({ event: 'delivery.final', queue: h.id, kind: h.kind, from: h.from, recipient, state, hop: hop ?? null, reply: reply ? wireText(reply) : null }, `${h.id} ${recipient} ${state}`);
  }

  /** Parks an entry that waits only for a later retry: its state goes, its due time stays. */
  private park(live: Live, nextAt: number): void {
    this.entries.delete(live.state.header.id);
    this.parked.park(live.state.header.id, nextAt, live.state);
  }

  /** Reads a parked entry back from its file (given, when just read) and goes on with it as after an attempt. */
  private async wake(p: ParkedEntry, file?: EntryOnDisk): Promise<void> {
    let state: EntryState;
    try {
      state = replay(file ?? (await this.files.entry(p.id)));
    } catch (e) {
      this.parked.unpark(p);
      this.o.logger.error({ event: 'queue.unreadable', queue: p.id, err: (e as Error).message }, 'queue entry unreadable; left in place');
      return;
    }
    // Woken meanwhile (by its due time and a command at once): once is enough.
    if (this.stopped || !this.parked.unpark(p)) return;
    const live: Live = { state, jobs: 0 };
    this.entries.set(p.id, live);
    await this.settle(live);
  }

  // ------------------------------------------------------------ operator commands

  private async commands(ids: Set<string>): Promise<void> {
    if (this.stopped) return;
    const targets = ids.has('all') ? [...this.entries.keys(), ...this.parked.ids()] : [...ids];
    for (const id of targets) await this.reread(id);
  }

  /** Applies operator commands appended to an entry's file since we last looked. */
  private async reread(id: string): Promise<void> {
    const parked = this.parked.get(id);
    if (parked) {
      const file = await this.files.entry(id).catch(() => undefined);
      // Replayed from its file, a parked entry applies its commands as it wakes.
      if (file?.records.some((r) => (r.t === 'flush' || r.t === 'delete' || r.t === 'bounce') && !parked.commands?.has(r.c))) {
        this.o.logger.info({ event: 'queue.command', queue: id }, `${id}: operator command applied`);
        await this.wake(parked, file);
      }
      return;
    }
    const live = this.entries.get(id);
    if (!live) return;
    let records: EntryRecord[];
    try {
      records = (await this.files.entry(id)).records;
    } catch {
      return;
    }
    let changed = false;
    for (const r of records) if (r.t === 'flush' || r.t === 'delete' || r.t === 'bounce') changed = apply(live.state, r) || changed;
    if (!changed) return;
    this.o.logger.info({ event: 'queue.command', queue: id, deleted: live.state.deleted }, `${id}: operator command applied`);
    await this.settle(live);
  }
}
