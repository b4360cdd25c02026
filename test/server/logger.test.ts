import { execFileSync, spawnSync } from 'node:child_process';
import fs, { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createLogger, writeLimits } from '../../src/server/logger.js';

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

  it('writes the lines it gathered before flushSync returns, even while the thread pool is busy', () => {
    // pino calls the destination's flushSync as the process leaves. The pool's one thread is kept busy, so a write handed
    // to it cannot have run when flushSync returns: the line must have been written in flushSync itself.
    const dir = mkdtempSync(join(tmpdir(), 'smtp-cbv-log-'));
    try {
      const file = join(dir, 'log.jsonl');
      const program = `const { pbkdf2 } = require('node:crypto');
        const { readFileSync } = require('node:fs');
        const { createLogger } = require(${JSON.stringify(join(root, 'dist', 'src', 'server', 'logger.js'))});
        pbkdf2('x', 'y', 2e6, 32, 'sha512', () => undefined);
        const log = createLogger({ level: 'info', dest: ${JSON.stringify(file)} }, {});
        log.info({ event: 'transaction', n: 1 }, 'line');
        log[require('pino').symbols.streamSym].flushSync();
        process.stdout.write(readFileSync(${JSON.stringify(file)}, 'utf8'));
        process.exit(0);`;
      const out = execFileSync(process.execPath, ['--input-type=commonjs', '-e', program], { encoding: 'utf8', env: { ...process.env, UV_THREADPOOL_SIZE: '1' } });
      expect(out.trimEnd().split('\n').map((l) => (JSON.parse(l) as { n: number }).n)).toEqual([1]);
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

  it('writes at most PIPE_BUF octets at once to a pipe, where several workers share it; more to a file or a device', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtp-cbv-log-'));
    const maxWrite = (dest: number | string) => {
      const log = createLogger({ level: 'info', dest }, {});
      return (log as unknown as Record<symbol, { maxWrite: number }>)[Object.getOwnPropertySymbols(log).find((s) => s.description === 'pino.stream')!]!.maxWrite;
    };
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // Opened for reading and writing, a FIFO does not wait for a reader (fifo(7)).
    const fd = fs.openSync(fifo, fs.constants.O_RDWR);
    try {
      expect(writeLimits(fd)).toEqual({ write: 4096, gather: 3584 });
      expect(maxWrite(fd)).toBe(4096);
      expect(writeLimits(-1)).toEqual({ write: 4096, gather: 3584 });
      expect(maxWrite(join(dir, 'log.jsonl'))).toBe(16384);
      expect(maxWrite('/dev/null')).toBe(16384);
    } finally {
      fs.closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gathers lines logged a moment apart into few writes, and writes a lone line soon without waiting for more', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtp-cbv-log-'));
    // sonic-boom writes through node:fs's write; counted here, the writes of this test's logger alone (its file descriptor).
    const write = vi.spyOn(fs, 'write');
    try {
      const file = join(dir, 'log.jsonl');
      const log = createLogger({ level: 'info', dest: file }, {});
      const ours = () => write.mock.calls.filter(([, data]) => typeof data === 'string' && data.includes('"event":"transaction"'));
      // A transaction every millisecond: each line on its own turn of the event loop, as a server logs them.
      for (let i = 0; i < 40; i++) {
        log.info({ event: 'transaction', n: i }, 'line');
        await sleep(1);
      }
      const lines = async (n: number) => {
        for (let t = 0; t < 200 && (fs.existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0) < n; t++) await sleep(10);
        return readFileSync(file, 'utf8').trimEnd().split('\n');
      };
      expect((await lines(40)).map((l) => (JSON.parse(l) as { n: number }).n)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      // One write per line before; at most one per 20 ms gathered now (and the test's sleeps last longer than asked).
      expect(ours().length).toBeLessThanOrEqual(10);
      for (const [, data] of ours()) expect(String(data).endsWith('\n')).toBe(true);
      // A line with nothing after it is written by the timer, not left waiting for the buffer to fill.
      log.info({ event: 'transaction', n: 40 }, 'line');
      expect(await lines(41)).toHaveLength(41);
    } finally {
      write.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes a line logged while a slow write is in flight, with nothing logged after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtp-cbv-log-'));
    const real = fs.write.bind(fs) as (...a: unknown[]) => void;
    // A slow disk or pipe: each write of this test's logger ends 60 ms after it began.
    const write = vi.spyOn(fs, 'write').mockImplementation(((...a: unknown[]) => {
      const cb = a.at(-1) as (...r: unknown[]) => void;
      real(...a.slice(0, -1), (...r: unknown[]) => setTimeout(() => cb(...r), 60));
    }) as unknown as typeof fs.write);
    try {
      const file = join(dir, 'log.jsonl');
      const log = createLogger({ level: 'info', dest: file }, {});
      log.info({ event: 'transaction', n: 0 }, 'line');
      // The first line's write begins within 20 ms and lasts 60: this one is logged while it runs.
      await sleep(35);
      log.info({ event: 'transaction', n: 1 }, 'line');
      let lines: string[] = [];
      for (let t = 0; t < 100 && lines.length < 2; t++) {
        await sleep(10);
        lines = readFileSync(file, 'utf8').trimEnd().split('\n').filter(Boolean);
      }
      expect(lines.map((l) => (JSON.parse(l) as { n: number }).n)).toEqual([0, 1]);
    } finally {
      write.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes every line once, in order, each write whole lines of at most its limit (16 KiB to a file) but for a longer line alone (property)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtp-cbv-log-'));
    const write = vi.spyOn(fs, 'write');
    try {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 5000, size: 'max' }), fc.integer({ min: 0, max: 2 })), { maxLength: 40 }), async (items) => {
          write.mockClear();
          const file = join(dir, `log${run++}.jsonl`);
          const log = createLogger({ level: 'info', dest: file }, {});
          for (const [text, pause] of items) {
            log.info({ event: 'transaction', text }, 'line');
            if (pause) await sleep(pause * 15);
          }
          log.flush();
          let got = '';
          for (let t = 0; t < 100; t++) {
            got = readFileSync(file, 'utf8');
            if (got.split('\n').length - 1 >= items.length) break;
            await sleep(10);
          }
          expect(got.trimEnd().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { text: string }).text)).toEqual(items.map(([text]) => text));
          for (const [, data] of write.mock.calls.filter(([, d]) => typeof d === 'string' && d !== '')) {
            const chunk = String(data);
            expect(chunk.endsWith('\n')).toBe(true);
            if (Buffer.byteLength(chunk) > 16384) expect(chunk.indexOf('\n')).toBe(chunk.length - 1);
          }
        }),
        { numRuns: 25 },
      );
    } finally {
      write.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
