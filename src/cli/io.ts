/** Where a CLI command writes. Tests pass buffers; the binary passes the process streams. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

export const processIO: CliIO = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Collects output in memory, for tests. */
export function bufferIO(): CliIO & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(text: string) {
      io.stdout += text;
    },
    err(text: string) {
      io.stderr += text;
    },
  };
  return io;
}

/** Exit codes from sysexits(3), shared by every subcommand. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 64,
  /** EX_NOINPUT: a named item (a queue entry) does not exist. */
  noinput: 66,
  tempfail: 75,
  /** EX_CONFIG: the configuration has errors. */
  config: 78,
} as const;
