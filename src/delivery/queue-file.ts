/**
 * The queue's files: one file per queue entry in `<queue_dir>/entries/`,
 * holding the envelope, the message and, appended after it, one line per
 * change of state (a delivery attempt's results, an operator command).
 *
 *   line 1      the header: JSON of EntryHeader (one line: JSON escapes line breaks)
 *   size bytes  the message, exactly as it will be sent
 *   records     one JSON object per line (EntryRecord), in the order they happened
 *
 * Durability (docs/delivery.md, "Durability"): an entry is written to
 * `<id>.tmp`, fdatasynced (which flushes its size with its content, as
 * maildir.ts explains), renamed to `<id>`, and the directory fsynced; one
 * directory fsync covers every rename made before it started, so
 * concurrent acceptances share it (group commit). Entries held in memory
 * are written by the spool writer's thread as one job (spool-writer.ts):
 * on the event loop each of those calls is a thread-pool hand-off and a
 * promise. A record is appended
 * with O_APPEND (so that the server and the operator CLI can both append)
 * and fdatasynced, except when it only says "delivered": losing that in a
 * power failure means delivering again, never losing mail, as in Postfix,
 * which removes a delivered queue file without an fsync. A finished entry
 * is unlinked without an fsync for the same reason.
 *
 * A crash while appending can leave a torn last line: it is ignored when
 * read (the attempt it described is made again).
 */
import { randomBytes } from 'node:crypto';
import { constants, type FileHandle, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gateway } from '../config/gateway.js';
import { removeFile } from '../remove-file.js';
import type { Reply } from '../session/reply.js';
import { DirSync } from './dir-sync.js';
import { FileRange } from './file-range.js';
import { ownBytes, SMALL_WRITE, type SpoolWriter, spoolWriter } from './spool-writer.js';
import type { SpoolFile } from './spool-writer-protocol.js';
import { type Piece, piecesSize, writePieces } from './write-pieces.js';

/** What the queue entry is: mail accepted from a client, or one the server made. */
export type EntryKind = 'message' | 'redirect' | 'vacation' | 'notify' | 'generated' | 'forward' | 'bounce' | 'delay';

export interface EntryRecipient {
  address: string;
  /** Maildir folders, used when the recipient's route is `maildir` (INBOX when empty). */
  folders?: string[];
  /** The gateway a script chose for this recipient (ec_set_routing_gateway), in place of its domain's route. */
  gateway?: Gateway;
}

export interface EntryHeader {
  v: 1;
  id: string;
  kind: EntryKind;
  /** The reverse-path; '' is the null sender (never bounced). */
  from: string;
  recipients: EntryRecipient[];
  /** Epoch milliseconds of acceptance: the retry schedule and expiry count from here. */
  receivedAt: number;
  size: number;
  transaction?: string;
  client?: { address: string; helo?: string; tls?: boolean; user?: string };
  verdicts?: Record<string, unknown>;
  /** For bounces and notices: the entry they report on. */
  about?: string;
  /**
   * The delivery deadline (RFC 2852 BY, or a Sieve redirect's, RFC 6009 6):
   * epoch ms, "return" (give up and bounce at the deadline) or "notify".
   */
  deliverBy?: { deadline: number; mode: 'notify' | 'return'; trace: boolean };
}

export type RecipientStatus = 'deferred' | 'delivered' | 'bounced' | 'expired';

export type EntryRecord =
  /** One recipient's attempt result (`n`: attempts so far; `next`: when a deferred one is retried). */
  | { t: 'r'; i: number; s: RecipientStatus; at: number; n: number; next?: number; reply?: Reply; hop?: string }
  /** A delay notice was sent. */
  | { t: 'dsn'; at: number }
  /** The bounce for these recipients (bounced or expired) was queued. */
  | { t: 'notified'; i: number[]; at: number }
  /** Operator commands (smtp-cbv queue ...), each with its own id. */
  | { t: 'flush' | 'delete' | 'bounce'; c: string; at: number };

export interface EntryFile {
  header: EntryHeader;
  message: Buffer;
  records: EntryRecord[];
}

export const FINAL: ReadonlySet<RecipientStatus> = new Set(['delivered', 'bounced', 'expired']);

let sequence = 0;

/** Queue ids: sortable by time of creation, unique across processes, safe as file names. */
export function newQueueId(now = Date.now()): string {
  sequence = (sequence + 1) % 0x10000;
  return `${now.toString(36).toUpperCase().padStart(9, '0')}${sequence.toString(16).padStart(4, '0').toUpperCase()}${randomBytes(4).toString('hex').toUpperCase()}`;
}

export const isQueueId = (s: string) => /^[0-9A-Z]{9}[0-9A-F]{12}$/.test(s);

export function encodeEntry(header: EntryHeader, message: Buffer): Buffer[] {
  return [Buffer.from(`${JSON.stringify({ ...header, size: message.length })}\n`), message];
}

/** An entry as written: its header line, then the message's pieces (a spooled message is copied in chunks, write-pieces.ts). */
function entryPieces(header: EntryHeader, message: Buffer | readonly Piece[]): Piece[] {
  if (Buffer.isBuffer(message)) return encodeEntry(header, message);
  return [Buffer.from(`${JSON.stringify({ ...header, size: piecesSize(message) })}\n`), ...message];
}

export function encodeRecords(records: readonly EntryRecord[]): Buffer {
  return Buffer.from(records.map((r) => `\n${JSON.stringify(r)}\n`).join(''));
}

/**
 * Parses an entry file. Records are separated by line breaks; each is
 * written with a line break before and after it, so a torn record never
 * glues itself to the next one. Lines that do not parse are skipped.
 */
export function decodeEntry(data: Buffer): EntryFile {
  const nl = data.indexOf(0x0a);
  if (nl < 0) throw new Error('no header line');
  const header = decodeHeader(data.subarray(0, nl));
  const start = nl + 1;
  const end = start + header.size;
  if (end > data.length) throw new Error('message truncated');
  return { header, message: data.subarray(start, end), records: decodeRecords(data.subarray(end)) };
}

function decodeHeader(line: Buffer): EntryHeader {
  const header = JSON.parse(line.toString('utf8')) as EntryHeader;
  if (header.v !== 1 || typeof header.size !== 'number' || !Array.isArray(header.recipients)) throw new Error('not a queue entry');
  return header;
}

/** The records after the message: lines that do not parse are skipped. */
function decodeRecords(data: Buffer): EntryRecord[] {
  const records: EntryRecord[] = [];
  for (const line of data.toString('utf8').split('\n')) {
    if (!line) continue;
    try {
      const r = JSON.parse(line) as EntryRecord;
      if (r && typeof r === 'object' && typeof r.t === 'string') records.push(r);
    } catch {
      // A torn last record (a crash while appending): the attempt is made again.
    }
  }
  return records;
}

/** An entry without its message's octets: where they lie instead. */
export interface EntryOnDisk {
  header: EntryHeader;
  records: EntryRecord[];
  message: FileRange;
}

/** The header line is read in pieces of this size until its end is found. */
const HEADER_READ = 64 * 1024;

export class QueueFiles {
  readonly entries: string;
  readonly control: string;
  /** Directory fsyncs shared by concurrent acceptances (group commit). */
  private readonly dirs: DirSync;

  constructor(
    readonly dir: string,
    /** Counts every fsync made (the benchmark's fsyncs per message). */
    readonly counter: FsyncCounter = { fsyncs: 0 },
    private readonly writer: SpoolWriter = spoolWriter,
  ) {
    this.entries = join(dir, 'entries');
    this.control = join(dir, 'control');
    this.dirs = new DirSync(counter);
  }

  async init(): Promise<void> {
    await mkdir(this.entries, { recursive: true });
    await mkdir(this.control, { recursive: true });
  }

  path(id: string): string {
    return join(this.entries, id);
  }

  /** Writes entries all or none: each fsynced, then renamed into place, then one directory fsync. */
  async create(entries: ReadonlyArray<{ header: EntryHeader; message: Buffer | readonly Piece[] }>): Promise<void> {
    const files = this.inMemory(entries);
    if (files) {
      const dirSyncs = await this.writer.write({ files });
      this.counter.fsyncs += files.length + dirSyncs;
      return;
    }
    const written: string[] = [];
    try {
      for (const e of entries) {
        const tmp = `${this.path(e.header.id)}.tmp`;
        written.push(tmp);
        await writeSynced(tmp, entryPieces(e.header, e.message));
        this.counter.fsyncs++;
      }
      for (const e of entries) {
        await rename(`${this.path(e.header.id)}.tmp`, this.path(e.header.id));
        written.push(this.path(e.header.id));
      }
      await this.dirs.sync(this.entries);
    } catch (e) {
      await Promise.all(written.map((p) => rm(p, { force: true }).catch(() => undefined)));
      throw e;
    }
  }

  /** The entries as files for the spool writer's thread, when every one is in memory and small. */
  private inMemory(entries: ReadonlyArray<{ header: EntryHeader; message: Buffer | readonly Piece[] }>): SpoolFile[] | undefined {
    const files: SpoolFile[] = [];
    for (const e of entries) {
      const bytes = ownBytes(entryPieces(e.header, e.message), SMALL_WRITE);
      if (!bytes) return undefined;
      files.push({ tmp: `${this.path(e.header.id)}.tmp`, path: this.path(e.header.id), bytes });
    }
    return files;
  }

  /** Appends records (O_APPEND), then fdatasyncs unless `sync` is false. */
  async append(id: string, records: readonly EntryRecord[], sync = true): Promise<void> {
    const fh = await open(this.path(id), constants.O_WRONLY | constants.O_APPEND);
    try {
      await fh.write(encodeRecords(records));
      if (sync) {
        await fh.datasync();
        this.counter.fsyncs++;
      }
    } finally {
      await fh.close();
    }
  }

  async remove(id: string): Promise<void> {
    await removeFile(this.path(id));
  }

  /** An entry, its message whole. */
  async read(id: string): Promise<EntryFile> {
    return decodeEntry(await readFile(this.path(id)));
  }

  /**
   * An entry's header and records, and where its message lies, read
   * without the message: start-up, an operator command and a delivery
   * then cost the header and records, not the message's size.
   */
  async entry(id: string): Promise<EntryOnDisk> {
    const fh = await open(this.path(id), 'r');
    try {
      const { header, message, fileSize } = await this.headerOf(id, fh);
      const end = message.start + message.size;
      const tail = Buffer.allocUnsafe(fileSize - end);
      for (let at = 0; at < tail.length; ) {
        const { bytesRead } = await fh.read(tail, at, tail.length - at, end + at);
        if (bytesRead === 0) throw new Error('records truncated');
        at += bytesRead;
      }
      return { header, records: decodeRecords(tail), message };
    } finally {
      await fh.close();
    }
  }

  /** Where an entry's message lies, from its header line alone (a delivery needs no records: they can be many). */
  async message(id: string): Promise<FileRange> {
    const fh = await open(this.path(id), 'r');
    try {
      return (await this.headerOf(id, fh)).message;
    } finally {
      await fh.close();
    }
  }

  /** The header line, read in pieces until its end; and where the message after it lies. */
  private async headerOf(id: string, fh: FileHandle): Promise<{ header: EntryHeader; message: FileRange; fileSize: number }> {
    const fileSize = (await fh.stat()).size;
    let head = Buffer.alloc(0);
    let nl = -1;
    while (nl < 0) {
      const buf = Buffer.allocUnsafe(HEADER_READ);
      const { bytesRead } = await fh.read(buf, 0, buf.length, head.length);
      if (bytesRead === 0) throw new Error('no header line');
      const searched = head.length;
      head = Buffer.concat([head, buf.subarray(0, bytesRead)]);
      const at = head.indexOf(0x0a, searched);
      if (at >= 0) nl = at;
    }
    const header = decodeHeader(head.subarray(0, nl));
    const start = nl + 1;
    if (start + header.size > fileSize) throw new Error('message truncated');
    return { header, message: new FileRange(this.path(id), start, header.size), fileSize };
  }

  /** Ids of every entry, oldest first; leftovers of an unfinished create are removed. */
  async ids(removeLeftovers = true): Promise<string[]> {
    const names = await readdir(this.entries).catch(() => [] as string[]);
    const ids: string[] = [];
    for (const n of names) {
      if (n.endsWith('.tmp')) {
        if (removeLeftovers) await rm(join(this.entries, n), { force: true });
      } else if (isQueueId(n)) ids.push(n);
    }
    return ids.sort();
  }

  /** Tells a running server to look at an entry again (or at every entry: `all`). */
  async kick(id: string | 'all'): Promise<void> {
    const fh = await open(join(this.control, `${id}.${randomBytes(4).toString('hex')}`), 'wx');
    await fh.close();
  }
}

export interface FsyncCounter {
  fsyncs: number;
}

async function writeSynced(path: string, pieces: readonly Piece[]): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    await writePieces(fh, pieces);
    await fh.datasync();
  } finally {
    await fh?.close();
  }
}

