/**
 * From configuration text to the running parts: Momentum's Debug_Level sets
 * a module's own log level over the global one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { assemble } from '../../src/server/assemble.js';
import type { SessionState } from '../../src/server/types.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-assemble-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { lines, logger: pino({ level: 'warn' }, stream) };
}

const session = (): SessionState => ({
  id: 's', remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 2, tls: false,
  connection: new Map(), message: new Map(), mailFrom: '', recipients: [], messageCount: 0, rcptCount: 0,
});

describe('assemble', () => {
  it("gives smtp_cbv its own log level with Debug_Level, and the global level without it", async () => {
    for (const [block, expected] of [['Debug_Level = "info"', 1], ['', 0]] as const) {
      const { config } = parseConfigText(`smtp_cbv "c" { ${block} }\n`, join(dir, 'x.conf'));
      const { lines, logger } = capture();
      const { assembled } = await assemble(config!, logger, 'mx.test');
      assembled!.cbv!.accepted('mailfrom', session()); // the null sender: an info-level cbv.skip event
      expect(lines.filter((l) => l.event === 'cbv.skip')).toHaveLength(expected);
    }
  });
});
