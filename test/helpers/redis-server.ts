/**
 * A real redis-server (Debian's package) on 127.0.0.1 and a free port, for
 * tests of the shared state: started by the test, stopped by its PID, and
 * restartable on the same port to test an outage.
 *
 * Where redis-server is not installed the tests that need it are skipped
 * with that reason, except under CI (`CI` set), where .ci/run installs it
 * and a missing binary is a failure, never a silent skip.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './free-port.js';

function findRedisServer(): string | undefined {
  for (const p of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) {
    try {
      execFileSync(p, ['--version'], { stdio: 'ignore' });
      return p;
    } catch {
      // not there
    }
  }
  return undefined;
}

export const REDIS_BIN = findRedisServer();
if (!REDIS_BIN && process.env.CI) throw new Error('redis-server is not installed: .ci/run must install it (apt-get install redis-server)');
/** For `describe.skipIf(...)`: the reason is in the test name. */
export const NO_REDIS = !REDIS_BIN;

export class TestRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<TestRedis> {
    const r = new TestRedis(await freePort());
    await r.resume();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (again) on the same port. */
  async resume(): Promise<void> {
    if (!REDIS_BIN) throw new Error('redis-server is not installed');
    const child = spawn(REDIS_BIN, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: 'ignore' });
    this.child = child;
    for (let i = 0; i < 100; i++) {
      if (await answersPing(this.port)) return;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** Kills it (SIGKILL: an outage, not a shutdown) and waits until it is gone. */
  async kill(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    await this.kill();
  }
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    let got = '';
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) {
        s.destroy();
        resolve(got.startsWith('+PONG'));
      }
    });
    s.on('error', () => resolve(false));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
  });
}
