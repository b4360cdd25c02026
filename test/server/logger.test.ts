import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/server/logger.js';

const root = join(import.meta.dirname, '..', '..');

describe('createLogger', () => {
  it('takes the level from the settings, and LOG_LEVEL over them', () => {
    expect(createLogger({ level: 'warn' }, {}).level).toBe('warn');
    expect(createLogger({ level: 'warn' }, { LOG_LEVEL: 'debug' }).level).toBe('debug');
    expect(createLogger({}, { LOG_LEVEL: 'nonsense' }).level).toBe('info');
  });

  it('writes asynchronously yet loses no line when the process exits at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtp-cbv-log-'));
    try {
      const file = join(dir, 'log.jsonl');
      // The built logger, in a process that logs and exits in the same turn of its event loop.
      const program = `const { createLogger } = require(${JSON.stringify(join(root, 'dist', 'src', 'server', 'logger.js'))});
        const log = createLogger({ level: 'info', dest: ${JSON.stringify(file)} }, {});
        for (let i = 0; i < 5000; i++) log.info({ event: 'transaction', n: i, pad: 'x'.repeat(200) }, 'line');
        process.exit(0);`;
      execFileSync(process.execPath, ['--input-type=commonjs', '-e', program], { stdio: 'inherit' });
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(5000);
      expect(lines.map((l) => (JSON.parse(l) as { n: number }).n)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps standard output for its JSON lines: what a library prints with console goes to standard error', () => {
    // mailauth prints "TOTAL <n> EXPECTING <l>" with console.log for a DKIM signature whose l= passes the body's end.
    const program = `const { createLogger } = require(${JSON.stringify(join(root, 'dist', 'src', 'server', 'logger.js'))});
      const log = createLogger({ level: 'info' }, {});
      console.log('TOTAL 4 EXPECTING 99999');
      log.info({ event: 'transaction' }, 'line');`;
    const r = spawnSync(process.execPath, ['--input-type=commonjs', '-e', program], { encoding: 'utf8' });
    expect(r.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['transaction']);
    expect(r.stderr).toContain('TOTAL 4 EXPECTING 99999');
  });

  it('never writes more than PIPE_BUF octets at once, and only whole lines', () => {
    const log = createLogger({ level: 'info', dest: '/dev/null' }, {});
    const stream = (log as unknown as Record<symbol, { maxWrite: number }>)[Object.getOwnPropertySymbols(log).find((s) => s.description === 'pino.stream')!]!;
    expect(stream.maxWrite).toBe(4096);
  });
});
