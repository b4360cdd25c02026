/**
 * The process logger: pino, one structured JSON line per event. Level and
 * pretty output come from the configuration, overridden by the environment
 * (LOG_LEVEL, LOG_PRETTY=1) so an operator can turn on debug for one run.
 */
import { Console } from 'node:console';
import { fstatSync, openSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { writesPlainJson } from '../info-line.js';

export interface LogSettings {
  level?: string;
  pretty?: boolean;
  /** Where JSON lines go: a file descriptor or path; default standard output. */
  dest?: number | string;
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function createLogger(settings: LogSettings = {}, env: NodeJS.ProcessEnv = process.env): Logger {
  const level = env.LOG_LEVEL && LEVELS.has(env.LOG_LEVEL) ? env.LOG_LEVEL : (settings.level ?? 'info');
  const wantPretty = env.LOG_PRETTY !== undefined ? env.LOG_PRETTY === '1' || env.LOG_PRETTY === 'true' : (settings.pretty ?? false);
  const options = { level, base: { name: 'smtp-cbv' } };
  // pino-pretty as a synchronous stream, not a worker-thread transport: log
  // lines written just before a shutdown must not be lost.
  if (wantPretty) return pino(options, pretty({ sync: true, singleLine: true, translateTime: 'SYS:standard', ignore: 'pid,hostname,name' }));
  // JSON lines are written asynchronously: a synchronous write per line held
  // the event loop for every transaction (a slow pipe or disk held every
  // session). Lines are gathered (gathered() below) and go out together,
  // and pino writes what is still buffered synchronously when the process
  // exits; only a kill -9 can lose the last lines. A write holds whole
  // lines (writeLimits below says how many octets at most).
  // A file is opened here, synchronously: opened by the stream, it would not
  // be ready for a process that logs and exits at once.
  const fd = typeof settings.dest === 'string' ? openSync(settings.dest, 'a') : (settings.dest ?? 1);
  if (fd === 1) stdoutForLogsOnly();
  const limits = writeLimits(fd);
  const dest = gathered(pino.destination({ fd, sync: false, maxWrite: limits.write }), limits);
  // Lines of no serializers, formatters, mixin, hooks or redaction: the transaction's line may be serialised at once.
  writesPlainJson(dest);
  return pino(options, dest);
}

/** pipe(7): a write of at most this many octets to a pipe is never interleaved with another's. */
const PIPE_BUF = 4096;
type Destination = ReturnType<typeof pino.destination>;

/** The most octets one write holds, and how many gathered lines are handed on at once (or GATHER_MS after the first of them). */
interface WriteLimits {
  write: number;
  gather: number;
}

/**
 * A pipe or a socket (standard output under a supervisor, journald's
 * stream) takes whole lines from several workers only in writes of at most
 * PIPE_BUF octets (pipe(7); a stream socket promises nothing, and is held
 * to the same). A file opened to append, or a device, takes each write
 * whole (write(2) under O_APPEND moves to the end and writes in one step),
 * so there the lines go out in fewer, larger writes: each is a hand-over
 * to the thread pool, which wakes a pool thread (docs/server.md, "Logs").
 */
export function writeLimits(fd: number): WriteLimits {
  let pipe = true;
  try {
    const s = fstatSync(fd);
    pipe = s.isFIFO() || s.isSocket();
  } catch {
    // Not known: held to a pipe's limit.
  }
  return pipe ? { write: PIPE_BUF, gather: PIPE_BUF - 512 } : { write: FILE_WRITE, gather: FILE_WRITE - 4096 };
}

/** A write to a file or a device: sonic-boom's own default bound, four times ours to a pipe. */
const FILE_WRITE = 16 * 1024;
/** Lines wait at most this many milliseconds after the first of them was logged. */
const GATHER_MS = 20;

/**
 * Lines gathered for a moment and handed to the stream together: a write
 * per line cost the event loop a hand-over to the thread pool for every
 * transaction, one of the dearest steps of a short one (docs/server.md,
 * "Logs"). A line waits at most GATHER_MS, and a handed-on chunk is whole
 * lines of at most `limits.write` octets (but for a longer line, alone),
 * which the stream writes whole. The gathering is here rather than sonic-boom's
 * minLength: a flush that finds a write under way does nothing there, and
 * the lines logged meanwhile waited for the next line to be logged. The
 * timer does not keep the process alive; pino's flushSync at exit takes
 * what is gathered too.
 */
function gathered(dest: Destination, limits: WriteLimits): Destination {
  const write = dest.write.bind(dest);
  const flushSync = dest.flushSync.bind(dest);
  const flush = dest.flush.bind(dest);
  let lines = '';
  let octets = 0;
  let timer: NodeJS.Timeout | undefined;
  // What is gathered goes to `give`: the stream's write, or `queue` for a synchronous flush.
  const handOn = (give: (chunk: string) => unknown = write) => {
    clearTimeout(timer);
    timer = undefined;
    // A stream already ended (sonic-boom sets `destroyed`, untyped) takes nothing more.
    if (octets === 0 || (dest as { destroyed?: boolean }).destroyed) return;
    const chunk = lines;
    lines = '';
    octets = 0;
    give(chunk);
  };
  // Queued, not written: given a line while no write is under way, sonic-boom starts an asynchronous
  // write, which its synchronous flush does not wait for, and a process that exits after it loses the line
  // whenever the thread pool had not yet run the write (a loaded machine, or a pool busy elsewhere).
  // With no length reached, sonic-boom only queues, and its synchronous flush writes the queue.
  const queue = (chunk: string) => {
    const stream = dest as unknown as { minLength: number };
    const min = stream.minLength;
    stream.minLength = Number.POSITIVE_INFINITY;
    try {
      write(chunk);
    } finally {
      stream.minLength = min;
    }
  };
  dest.write = (line: string) => {
    const n = Buffer.byteLength(line);
    if (octets + n > limits.write) handOn();
    lines += line;
    octets += n;
    if (octets >= limits.gather) handOn();
    else if (timer === undefined) {
      timer = setTimeout(handOn, GATHER_MS);
      timer.unref();
    }
    return true;
  };
  dest.flush = (cb?: (err?: Error) => unknown) => {
    handOn();
    flush(cb);
  };
  dest.flushSync = () => {
    handOn(queue);
    flushSync();
  };
  return dest;
}

/**
 * When the JSON lines go to standard output, nothing else may: a reader of
 * the stream parses every line. What a library prints with console goes to
 * standard error instead (mailauth prints "TOTAL <n> EXPECTING <l>" with
 * console.log whenever a DKIM signature's l= passes the end of the body, so
 * any sender could put a line that is not JSON into the log).
 */
function stdoutForLogsOnly(): void {
  globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });
}
