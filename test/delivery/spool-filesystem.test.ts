/**
 * Telling a spool on ext4 without a journal (spool-filesystem.ts): the
 * device of a real directory through the real /sys, and what /proc says of
 * it from a tree the test writes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import { deviceNumbers, ext4WithoutJournal } from '../../src/delivery/spool-filesystem.js';
import { recoverSpool } from '../../src/server/spool-recovery.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';

const dir = tempDirPerTest('spool-fs-');

/** The block device holding `path`, by coreutils' stat (major:minor), not by the code under test. */
function deviceOf(path: string): string | undefined {
  const numbers = execFileSync('stat', ['-c', '%Hd:%Ld', path], { encoding: 'utf8' }).trim();
  const link = `/sys/dev/block/${numbers}`;
  return existsSync(link) ? basename(realpathSync(link)) : undefined;
}

let trees = 0;
/** A /proc of our own, new each time: ext4 lists `ext4`, jbd2 lists `journals` (no jbd2 at all when undefined). */
function proc(ext4: string[], journals: string[] | undefined): string {
  const root = join(dir(), `proc${++trees}`);
  mkdirSync(join(root, 'fs'), { recursive: true });
  for (const d of ext4) mkdirSync(join(root, 'fs', 'ext4', d), { recursive: true });
  if (journals) mkdirSync(join(root, 'fs', 'jbd2'), { recursive: true });
  for (const j of journals ?? []) mkdirSync(join(root, 'fs', 'jbd2', j), { recursive: true });
  return root;
}

describe('a spool on ext4 without a journal', () => {
  // The temporary directories' device; a machine without /sys/dev/block (or off Linux) cannot run the first two.
  const device = process.platform === 'linux' && existsSync('/sys/dev/block') ? deviceOf(tmpdir()) : undefined;

  it.skipIf(!device)('is told by its device, when /proc lists it under ext4 and no journal of it under jbd2', () => {
    expect(ext4WithoutJournal(dir(), { proc: proc([device!], []), sys: '/sys' })).toBe(device);
    expect(ext4WithoutJournal(dir(), { proc: proc([device!], undefined), sys: '/sys' })).toBe(device);
    // Journals of other devices are not its own.
    expect(ext4WithoutJournal(dir(), { proc: proc([device!], [`${device}x-8`, `other-${device}-8`]), sys: '/sys' })).toBe(device);
  });

  it.skipIf(!device)('is not, once a journal of that device runs, nor when ext4 does not list the device', () => {
    expect(ext4WithoutJournal(dir(), { proc: proc([device!], [`${device}-8`]), sys: '/sys' })).toBeUndefined();
    expect(ext4WithoutJournal(dir(), { proc: proc(['other'], []), sys: '/sys' })).toBeUndefined();
  });

  it('cannot be told off Linux, without a block device, or for a directory that is not there', () => {
    expect(ext4WithoutJournal(process.cwd(), { proc: '/proc', sys: '/sys' }, 'darwin')).toBeUndefined();
    // /proc itself is on no block device.
    expect(ext4WithoutJournal('/proc', { proc: proc(['anything'], []), sys: '/sys' })).toBeUndefined();
    expect(ext4WithoutJournal(join(dir(), 'nowhere'))).toBeUndefined();
  });
});

it('start-up warns once about a spool on ext4 without a journal, and only then', async () => {
  const lines: Array<{ level: number; event?: string; device?: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const spoolDir = join(dir(), 'spool');
  await recoverSpool(new MaildirSpool(spoolDir), spoolDir, logger);
  const device = ext4WithoutJournal(spoolDir);
  const warned = lines.filter((l) => l.event === 'spool-filesystem');
  expect(warned).toEqual(device ? [expect.objectContaining({ level: 40, device })] : []);
});

it('takes a device number apart as glibc does, large majors and minors too', () => {
  // glibc's makedev(): the low 12 bits of the major at 8, the rest at 44; the low 8 bits of the minor at 0, the rest at 20.
  const makedev = (major: bigint, minor: bigint) => ((major & 0xfffn) << 8n) | ((major & 0xfffff000n) << 32n) | (minor & 0xffn) | ((minor & 0xffffff00n) << 12n);
  for (const [major, minor] of [[254n, 0n], [8n, 17n], [259n, 3n], [0x12345n, 0x6789an], [0xfffffn, 0xffffffn]] as const) {
    expect(deviceNumbers(makedev(major, minor))).toEqual({ major, minor });
  }
});
