/**
 * A server started from a configuration file written for the test: the
 * given phase scripts bound in a `sieve` block, a listener on a free
 * loopback port, a spool beside it. What an operator runs, as `serve` runs it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { type RunningServer, startFromConfig } from '../../src/server/run.js';
import { freePort } from './free-port.js';

/** Writes the scripts (slot -> text) and `test.conf` into `dir`; `extra` goes before the sieve block. */
export async function writeConfig(dir: string, scripts: Record<string, string>, extra = ''): Promise<string> {
  const lines = [];
  for (const [slot, text] of Object.entries(scripts)) {
    await writeFile(join(dir, `${slot}.siv`), text);
    lines.push(`  script "${slot}" { source = "${slot}.siv" }`);
  }
  const conf = join(dir, 'test.conf');
  await writeFile(conf, `spool_dir = "spool"\nESMTP_Listener { Listen "127.0.0.1:${await freePort()}" { } }\n${extra}\nsieve "s" {\n${lines.join('\n')}\n}\n`);
  return conf;
}

/** Starts the configuration, silently; a compile error fails the test with its positions. */
export async function startOrThrow(conf: string): Promise<RunningServer> {
  const { running, diagnostics } = await startFromConfig(conf, { logger: pino({ level: 'silent' }) });
  if (!running) throw new Error(diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('\n'));
  return running;
}

/** startOrThrow, with `stop` pushed to `cleanups`. */
export async function startConfig(conf: string, cleanups: Array<() => Promise<unknown>>): Promise<RunningServer> {
  const running = await startOrThrow(conf);
  cleanups.push(() => running.stop(0));
  return running;
}

/** Starts `conf` logging at info into `lines` (one object per JSON line), with `stop` pushed to `cleanups`. */
export async function startLogged(conf: string, cleanups: Array<() => Promise<unknown>>, lines: Array<Record<string, unknown>> = []): Promise<RunningServer> {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  const { running, diagnostics } = await startFromConfig(conf, { logger: pino({ level: 'info' }, sink) });
  if (!running) throw new Error(diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('\n'));
  cleanups.push(() => running.stop(0));
  return running;
}
