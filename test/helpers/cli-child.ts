/**
 * `smtp-cbv` run as an operator runs it: a child process of bin/smtp-cbv.js
 * whose output (JSON log lines, and any message) is kept, read by event,
 * and waited on.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const bin = join(import.meta.dirname, '../../bin/smtp-cbv.js');

export interface CliChild {
  child: ChildProcess;
  out: () => string;
  /** Log lines of one event, parsed. */
  events(name: string): Array<Record<string, unknown>>;
  /** Polls `cond` until it holds; fails with the output's end when it never does, or when the process exits first. */
  until(what: string, cond: () => boolean | Promise<boolean>, ms?: number): Promise<void>;
  /** SIGTERM, and its exit. */
  stop(): Promise<void>;
}

export function startCli(args: string[]): CliChild {
  let out = '';
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const events = (name: string) =>
    out
      .split('\n')
      .filter((l) => l.includes(`"event":"${name}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 30_000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await cond()) return;
      if (exited()) throw new Error(`the process exited (${child.exitCode ?? child.signalCode}) before ${what}; output:\n${out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}; output:\n${out.slice(-3000)}`);
  };
  const stop = async () => {
    if (exited()) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  };
  return { child, out: () => out, events, until, stop };
}
