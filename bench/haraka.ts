/**
 * Haraka as a second baseline for the accept-rate benchmark: a whole MTA
 * written for Node, where the bare smtp-server does nothing but parse the
 * protocol. It is set up to do less than smtp-cbv does for a message: two
 * plugins, `rcpt_to.in_host_list` (the recipient's domain is ours) and
 * `queue/discard` (nothing is written), one process (`nodes=0`), its
 * default log level (info) to /dev/null. Haraka's other defaults stay as
 * they are; its reverse DNS look-up of each client is answered at once by a
 * plugin of the benchmark's, so that nothing leaves the machine.
 *
 * Haraka is not one of smtp-cbv's dependencies (it pulls in about ninety
 * packages, some of which ask for a newer Node than smtp-cbv needs): the
 * benchmark uses it when it is found, in node_modules (`npm install
 * --no-save Haraka@3.3.4`, which the next `npm ci` removes) or at the path
 * given in HARAKA (the package's directory), and says so when it is not.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { mainThreadCpuMs } from './thread-cpu.js';

export interface Haraka {
  version: string;
  port: number;
  /** CPU time of Haraka's main thread so far, ms (/proc/<pid>/task/<pid>/stat). */
  mainCpuMs(): number;
  stop(): Promise<void>;
}

/** Where Haraka's package is, or undefined. */
export function harakaPackage(root: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.HARAKA) return existsSync(join(env.HARAKA, 'bin', 'haraka')) ? env.HARAKA : undefined;
  try {
    return join(createRequire(join(root, 'package.json')).resolve('Haraka/package.json'), '..');
  } catch {
    return undefined;
  }
}

/** Starts Haraka from `pkg` with its configuration in `dir` (which must not exist yet), listening on 127.0.0.1, accepting mail for `domain`. */
export async function startHaraka(pkg: string, dir: string, domain: string): Promise<Haraka> {
  const port = await freePort();
  // Haraka's own defaults (its banner and connection settings among them: it cannot greet without them), then ours.
  const made = spawnSync(process.execPath, [join(pkg, 'bin', 'haraka'), '-i', dir], { stdio: 'ignore' });
  if (made.status !== 0) throw new Error(`haraka -i ${dir} exited ${made.status}`);
  const config = join(dir, 'config');
  // The client's name, given at once: Haraka would ask DNS for the PTR of 127.0.0.1, a query that leaves the machine.
  writeFileSync(join(dir, 'plugins', 'bench_rdns.js'), "exports.hook_lookup_rdns = (next) => next(OK, 'localhost');\n");
  writeFileSync(join(config, 'plugins'), 'bench_rdns\nrcpt_to.in_host_list\nqueue/discard\n');
  writeFileSync(join(config, 'host_list'), `${domain}\n`);
  writeFileSync(join(config, 'smtp.ini'), `[main]\nlisten=127.0.0.1:${port}\nnodes=0\n`);
  writeFileSync(join(config, 'log.ini'), '[main]\nlevel=info\ntimestamps=false\n');
  writeFileSync(join(config, 'me'), 'bench.test\n');
  // queue/discard discards only when told to in so many words.
  const child = spawn(process.execPath, [join(pkg, 'bin', 'haraka'), '-c', dir], { env: { ...process.env, YES_REALLY_DO_DISCARD: '1' }, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await listening(port, child);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const version = (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string }).version;
  return {
    version,
    port,
    mainCpuMs: () => mainThreadCpuMs(child.pid!),
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on the port; rejects when the child exits first or after 30 s. */
async function listening(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Haraka exited (${child.exitCode}) before listening`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Haraka did not listen on port ${port} within 30 s`);
}
