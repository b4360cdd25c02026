/**
 * What a test sees of a file that other work also appends to (Postfix's
 * mailbox /var/mail/<user>, its log): only what was appended after the
 * reader was made. The machine's benchmarks deliver through the same
 * Postfix, so these files grow from run to run, past what a test can read
 * whole into one string (V8's limit is 512 MiB).
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

export interface FileTail {
  /** The text appended since the reader was made; '' while there is none. */
  appended(): string;
  /** For an mbox file: the message (from its `From ` line) carrying `marker`, once it is there. */
  message(marker: string): string | undefined;
}

export function fileTail(path: string): FileTail {
  const start = existsSync(path) ? statSync(path).size : 0;
  const appended = () => {
    if (!existsSync(path)) return '';
    const fd = openSync(path, 'r');
    try {
      // A file emptied since (a truncate by hand, a log rotated) is read from its start.
      const size = fstatSync(fd).size;
      const from = size < start ? 0 : start;
      const buffer = Buffer.alloc(size - from);
      let read = 0;
      while (read < buffer.length) {
        const n = readSync(fd, buffer, read, buffer.length - read, from + read);
        if (n === 0) break;
        read += n;
      }
      return buffer.subarray(0, read).toString('utf8');
    } finally {
      closeSync(fd);
    }
  };
  return { appended, message: (marker) => appended().split(/\n(?=From )/).find((m) => m.includes(marker)) };
}
