/**
 * The I/O Wrapper datasource driver (3-reference-modules-ds-core.md and
 * 4/modules/ds-core.md, "I/O Wrapper"): "the contents of a file to be
 * queried and returned as a single row consisting of a single column",
 * with `$named` style parameters. `uri = "iowrapper:"`, as the page's
 * example has it, and the query names the resource: a path (relative ones
 * from the configuration's directory) or a `file:` URL (RFC 8089). The
 * page names no column: it is `value`, as the cdb: driver's. A uri that
 * names a file (`iowrapper:/etc/motd`) is read by a query that names none.
 *
 * Momentum reads the resource through its IO layer, where other modules
 * add schemes (http_io for http://); smtp-cbv has files alone, and a query
 * naming another scheme fails with a message that says so.
 *
 * `$name` in the query is the ds_fetch hash's value of that name
 * (named-params.ts). A value holding a `..` segment or a NUL is refused: a
 * value names a part of the path the script wrote, and one taken from the
 * envelope (a local part may hold `/../`) must not climb out of the
 * directory the script named.
 *
 * The file is read at every query, through the thread pool, in chunks of
 * CHUNK octets, each decoded as it arrives: a file of hundreds of
 * megabytes never holds the event loop longer than one chunk's decoding.
 * Text is read as the csv: driver reads a file (assume_charset, else UTF-8
 * when the whole file is valid UTF-8, else ISO-8859-1, which Momentum
 * assumes when a driver cannot tell). versionOf gives the file's inode,
 * size and modification time, so that Momentum's result cache in front
 * (CachedDatasource) never answers with an older file's text.
 */
import { constants as bufferConstants } from 'node:buffer';
import { type FileHandle, open, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Datasource, DataVersion, QueryParams, Row } from '../datasource.js';
import { type CharsetDecoder, chunkText, readAsText } from '../file-text.js';
import { fillNamedParams } from './named-params.js';

/** Octets read (and decoded) in one step: Node's own readFile reads in chunks of this size. */
export const CHUNK = 512 * 1024;

export interface IoWrapperOptions {
  /** The Datasource's assume_charset, used for every file. */
  assumeCharset?: string;
  /** Octets read and decoded in one step (default CHUNK). */
  chunkBytes?: number;
}

/** `scheme://` at the start of a query: a resource Momentum would open through a scheme's IO wrapper. */
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

export class IoWrapperDatasource implements Datasource {
  private readonly assumeCharset: string | undefined;
  private readonly chunkBytes: number;

  constructor(
    /** The configuration file's directory: relative files are read from there. */
    private readonly baseDir: string,
    /** The uri's file, when it names one. */
    private readonly file: string | undefined,
    options: IoWrapperOptions = {},
  ) {
    this.assumeCharset = options.assumeCharset;
    this.chunkBytes = Math.max(1, options.chunkBytes ?? CHUNK);
  }

  /** A read changes nothing: its result may be cached. */
  reads(): boolean {
    return true;
  }

  /** The version of the file a query reads (inode, size, modification time). */
  async versionOf(query: string, params: QueryParams): Promise<DataVersion> {
    const file = this.target(query, params);
    const s = await stat(file);
    return { source: file, version: `${s.ino}:${s.size}:${s.mtimeMs}` };
  }

  async query(query: string, params: QueryParams, limit?: number): Promise<Row[]> {
    const file = this.target(query, params);
    const value = await readText(file, this.assumeCharset, this.chunkBytes);
    return limit === 0 ? [] : [{ value }];
  }

  /** The absolute file a query names. */
  private target(query: string, params: QueryParams): string {
    if (Array.isArray(params) && params.length) throw new Error('the iowrapper: driver takes $name parameters (a hash), not ? ones');
    const named = Array.isArray(params) ? {} : (params as Record<string, string>);
    const name = fillNamedParams(query.trim(), named, (v) => {
      if (v.includes('\0') || v.split(/[/\\]/).includes('..')) throw new Error(`iowrapper: a $name value may not hold a ".." segment or a NUL: ${JSON.stringify(v)}`);
      return v;
    }) || this.file;
    if (!name) throw new Error('iowrapper: the query names no file, and the datasource\'s uri none either');
    const scheme = SCHEME.exec(name)?.[1]?.toLowerCase();
    if (scheme === undefined) return path.resolve(this.baseDir, name);
    if (scheme !== 'file') throw new Error(`iowrapper: ${name}: smtp-cbv reads files only (a path or a file: URL); Momentum's IO wrapper for ${scheme}: is not provided`);
    try {
      return fileURLToPath(name);
    } catch (e) {
      throw new Error(`iowrapper: ${name}: not a file URL this host can read (${(e as Error).message})`);
    }
  }
}

/** Why a file cannot be read, in words, with the file's name: the message reaches datasource_error and logs. */
function failure(file: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory, not a file' : (e as Error).message;
  return new Error(`iowrapper: ${file}: ${why}`);
}

/** The whole file as text, read and decoded a chunk at a time. */
export async function readText(file: string, assumeCharset: string | undefined, chunkBytes: number = CHUNK): Promise<string> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw failure(file, e);
  }
  try {
    return await readAsText(assumeCharset, (decoder) => decodeAll(fh, file, chunkBytes, decoder));
  } finally {
    await fh.close();
  }
}

/**
 * Every chunk from the start, each decoded once read (`decoder` streaming;
 * none: ISO-8859-1, one character an octet). The pieces are joined with
 * `+=`, which V8 keeps as a rope: no copy of the whole text in one step.
 */
async function decodeAll(fh: FileHandle, file: string, chunkBytes: number, decoder: CharsetDecoder | undefined): Promise<string> {
  const buf = Buffer.allocUnsafe(chunkBytes);
  let text = '';
  let position = 0;
  for (;;) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(buf, 0, chunkBytes, position));
    } catch (e) {
      throw failure(file, e);
    }
    if (bytesRead === 0) break;
    position += bytesRead;
    // A string holds at most MAX_STRING_LENGTH characters, and a character is an octet at least.
    if (text.length + bytesRead > bufferConstants.MAX_STRING_LENGTH) throw new Error(`iowrapper: ${file}: too large to be a value (over ${bufferConstants.MAX_STRING_LENGTH} characters)`);
    text += chunkText(decoder, buf.subarray(0, bytesRead), true);
  }
  if (decoder) text += decoder.decode(new Uint8Array(0), false);
  return text;
}
