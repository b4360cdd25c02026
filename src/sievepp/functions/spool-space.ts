/**
 * ec_spool_space (sieve-ref-ec-spool-space.md): the size of the file
 * system that holds the spool and the space left on it, in MiB, and the
 * share of it in use, a whole percentage from 0 to 100; its documented use
 * is to turn clients away while the disk is nearly full. The host reads
 * the file system at each call (MomentumHost.spoolSpace).
 *
 * "Available" and "in use" are df(1)'s: the space an unprivileged writer
 * may still take (what is kept back for root is not available), and the
 * used share of the space users can have (used / (used + available),
 * rounded up, so that a nearly full disk never reads as less full).
 */
import type { SieveFunction } from '../functions.js';
import { hostOf } from '../host.js';

const MIB = 1024 * 1024;

/** The three values ec_spool_space returns, from a file system's sizes in octets. */
export function spoolSpaceValues(s: { total: number; free: number; available: number }): [string, string, string] {
  const used = Math.max(0, s.total - s.free);
  const pct = used + s.available > 0 ? Math.min(100, Math.ceil((used * 100) / (used + s.available))) : 0;
  return [String(Math.floor(s.total / MIB)), String(Math.floor(s.available / MIB)), String(pct)];
}

const spoolSpace: SieveFunction = {
  name: 'ec_spool_space',
  uses: { value: true },
  params: [],
  call(b, rt) {
    const read = hostOf(rt).spoolSpace;
    if (!read) return rt.fail('ec_spool_space: this host has no spool', b.node.pos);
    return read().then(spoolSpaceValues, (e: unknown) => rt.fail(`ec_spool_space: ${(e as Error).message}`, b.node.pos));
  },
};

export const spoolSpaceFunctions: SieveFunction[] = [spoolSpace];
