/**
 * Durable acceptance: a message is on disk, whole, before the client hears
 * 250 to its DATA. The spool is a Maildir (one file per message, written in
 * tmp/ and renamed into new/), with Maildir++ folders for `fileinto`, and an
 * envelope sidecar per message in envelopes/.
 *
 * Order of writes, so that a crash at any point leaves either nothing
 * visible or a complete message with its envelope:
 *   1. message -> tmp/<id>, fsync
 *   2. envelope -> tmp/<id>.json, fsync, rename -> envelopes/<id>.json
 *   3. rename tmp/<id> -> <folder>/new/<id>   (the message becomes visible)
 *   4. fsync envelopes/ and <folder>/new/, the directories renamed into;
 *      concurrent deliveries share these fsyncs (group commit, dir-sync.ts)
 * tmp/ is not fsynced: a name a crash leaves there is removed by recover().
 * That is four fsyncs per message, two of them shared under load.
 * A failure removes what it wrote and throws; the caller answers 451.
 * Leftovers of a crash (tmp files, envelopes whose message never arrived)
 * are removed by `recover()` at start-up.
 */
import { randomBytes } from 'node:crypto';
import { constants, type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DirSync } from './dir-sync.js';
import { type Piece, writePieces } from './write-pieces.js';

export interface EnvelopeSidecar {
  mailFrom: string;
  recipients: string[];
  client: { address: string; port?: number; helo?: string; tls?: boolean; user?: string };
  /** CBV verdicts and other context worth keeping, by name. */
  verdicts?: Record<string, unknown>;
  /** When the message was accepted, ISO 8601. */
  receivedAt: string;
  folder: string;
  /** The SMTP transaction id, for matching logs. */
  transaction?: string;
  /** True for the copy that a Sieve redirect sends to new recipients. */
  redirect?: boolean;
}

export interface SpooledMessage {
  id: string;
  folder: string;
  path: string;
  envelopePath: string;
}

/** The folder `keep` and implicit keep deliver to. */
export const INBOX = 'INBOX';

let sequence = 0;

export class MaildirSpool {
  private readonly dirs = new DirSync();

  constructor(readonly dir: string) {}

  /** Creates the directory layout; safe to call again. */
  async init(): Promise<void> {
    for (const sub of ['tmp', 'new', 'cur', 'envelopes']) await mkdir(join(this.dir, sub), { recursive: true });
  }

  /**
   * Maildir++ folder path: INBOX is the top level; "Lists/Announce" lives in
   * ".Lists.Announce". Names that could leave the spool are refused.
   */
  folderDir(folder: string): string {
    if (folder.toUpperCase() === INBOX) return this.dir;
    const parts = folder.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.') || p.endsWith('.') || /[\0\\]|\.\./.test(p))) {
      throw new Error(`invalid folder name ${JSON.stringify(folder)}`);
    }
    return join(this.dir, `.${parts.join('.')}`);
  }

  /** Writes one message durably into `folder` and returns where it is. */
  async deliver(folder: string, message: Buffer | readonly Piece[], envelope: Omit<EnvelopeSidecar, 'folder'>): Promise<SpooledMessage> {
    const target = this.folderDir(folder);
    const id = uniqueName();
    const tmpMessage = join(this.dir, 'tmp', id);
    const tmpEnvelope = join(this.dir, 'tmp', `${id}.json`);
    const envelopePath = join(this.dir, 'envelopes', `${id}.json`);
    const path = join(target, 'new', id);
    const written: string[] = [];
    try {
      if (target !== this.dir) for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(target, sub), { recursive: true });
      written.push(tmpMessage);
      await writeDurably(tmpMessage, Buffer.isBuffer(message) ? [message] : (message as readonly Piece[]));
      written.push(tmpEnvelope);
      await writeDurably(tmpEnvelope, [Buffer.from(`${JSON.stringify({ ...envelope, folder }, null, 2)}\n`)]);
      await rename(tmpEnvelope, envelopePath);
      written.push(envelopePath);
      await rename(tmpMessage, path);
      written.push(path);
      await Promise.all([this.dirs.sync(join(this.dir, 'envelopes')), this.dirs.sync(join(target, 'new'))]);
      return { id, folder, path, envelopePath };
    } catch (e) {
      await Promise.all(written.map((p) => rm(p, { force: true }).catch(() => undefined)));
      throw e;
    }
  }

  /** Takes back messages this process wrote (all-or-nothing delivery of several copies). */
  async remove(messages: readonly SpooledMessage[]): Promise<void> {
    for (const m of messages) {
      await rm(m.path, { force: true });
      await rm(m.envelopePath, { force: true });
    }
  }

  /**
   * Start-up clean-up after a crash: files left in tmp/ were never
   * acknowledged; an envelope without its message belongs to a message that
   * was never made visible.
   */
  async recover(): Promise<{ removedTmp: number; removedEnvelopes: number }> {
    await this.init();
    let removedTmp = 0;
    let removedEnvelopes = 0;
    for (const name of await readdir(join(this.dir, 'tmp'))) {
      await rm(join(this.dir, 'tmp', name), { force: true });
      removedTmp++;
    }
    const visible = new Set<string>();
    for (const folderDir of await this.folderDirs()) {
      for (const sub of ['new', 'cur']) {
        for (const name of await readdir(join(folderDir, sub)).catch(() => [] as string[])) visible.add(name.split(':')[0]!);
      }
    }
    for (const name of await readdir(join(this.dir, 'envelopes'))) {
      if (!visible.has(name.replace(/\.json$/, ''))) {
        await rm(join(this.dir, 'envelopes', name), { force: true });
        removedEnvelopes++;
      }
    }
    return { removedTmp, removedEnvelopes };
  }

  private async folderDirs(): Promise<string[]> {
    const dirs = [this.dir];
    for (const name of await readdir(this.dir)) {
      if (name.startsWith('.') && (await stat(join(this.dir, name))).isDirectory()) dirs.push(join(this.dir, name));
    }
    return dirs;
  }
}

/** A Maildir unique name: time, a per-process sequence and randomness, and the host. */
// Looked up once: a system call per message showed in the profile.
const HOST = hostname().replace(/[/:]/g, '_');

function uniqueName(): string {
  const now = Date.now();
  const host = HOST;
  return `${Math.floor(now / 1000)}.M${(now % 1000) * 1000}P${process.pid}Q${++sequence}R${randomBytes(6).toString('hex')}.${host}`;
}

async function writeDurably(path: string, pieces: readonly Piece[]): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    await writePieces(fh, pieces);
    await fh.sync();
  } finally {
    await fh?.close();
  }
}

