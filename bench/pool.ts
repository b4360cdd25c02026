/**
 * What the verification benchmarks share: running many tasks over a fixed
 * number of workers, and the baseline they measure against, one bare SMTP
 * session (connect, greeting, QUIT) on loopback.
 */
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

/** Runs `task(i)` for i in [0, n) with `width` workers; returns elapsed ms. */
export async function pool(n: number, width: number, task: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await task(next++);
    }),
  );
  return performance.now() - t0;
}

/** One bare SMTP session: connect, read the greeting, QUIT, wait for the close. */
export function bareSession(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let buf = '';
    let quitSent = false;
    s.on('data', (d) => {
      buf += d.toString();
      if (!quitSent && buf.includes('\n')) {
        quitSent = true;
        s.write('QUIT\r\n');
      }
    });
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}
