/**
 * Every temporary file of a test run in one directory, removed when the run
 * ends: the tests' own (mkdtemp under os.tmpdir()), the servers', the
 * CLI's and its child processes', which inherit TMPDIR. A test that forgets
 * to remove what it made, or dies before it can, leaves nothing behind
 * (os.tmpdir() reads TMPDIR on each call; vitest starts its workers after
 * this runs, so they inherit it).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const before = process.env.TMPDIR;
  // Short: Unix-domain socket paths under it must stay within 107 octets.
  const root = mkdtempSync(join(tmpdir(), 'smtp-cbv-test-'));
  // Traversable as /tmp is, for services that run as other users (Postfix, Dovecot) reading what a test made for them.
  chmodSync(root, 0o755);
  process.env.TMPDIR = root;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(root, { recursive: true, force: true });
  };
}
