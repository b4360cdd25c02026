/**
 * CDB files made by a real cdb writer: tinycdb's `cdb -c` (Debian's
 * tinycdb), fed records in cdbmake's format (`+klen,dlen:key->data`).
 * Where tinycdb is not installed the tests that need it are skipped with
 * that reason, except under CI (`CI` set), where .ci/run installs it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CDB = '/usr/bin/cdb';
export const NO_CDB = !existsSync(CDB);
if (NO_CDB && process.env.CI) throw new Error('tinycdb is not installed: .ci/run must install it (apt-get install tinycdb)');

/** Writes `file` with the records, in order (a key may have several). */
export function makeCdb(file: string, records: ReadonlyArray<readonly [string | Buffer, string | Buffer]>): void {
  const input = Buffer.concat([
    ...records.map(([k, v]) => {
      const key = Buffer.from(k);
      const value = Buffer.from(v);
      return Buffer.concat([Buffer.from(`+${key.length},${value.length}:`), key, Buffer.from('->'), value, Buffer.from('\n')]);
    }),
    Buffer.from('\n'),
  ]);
  execFileSync(CDB, ['-c', file], { input, stdio: ['pipe', 'ignore', 'pipe'] });
}
