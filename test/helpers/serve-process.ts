/**
 * The real server as a process (bin/smtp-cbv.js serve, as `npm test`
 * builds it), for tests that kill it: started on a configuration file,
 * and waited for until it answers on its port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { RawSmtpClient } from './smtp-client.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'smtp-cbv.js');

export function startServe(config: string): ChildProcess {
  return spawn(process.execPath, [bin, 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Resolves once the server answers on `port`; throws if it exits first (it could not start). */
export async function listening(server: ChildProcess, port: number): Promise<void> {
  while (server.exitCode === null && server.signalCode === null) {
    const c = await RawSmtpClient.open(port).catch(() => null);
    if (c) return c.close();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the server exited (${server.exitCode ?? server.signalCode}) before it listened`);
}
