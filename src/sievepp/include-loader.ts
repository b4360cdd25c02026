/**
 * The script loader behind ec_include (MomentumHost.loadInclude): a file
 * name (relative to the configuration's directory), or
 * `:datasource:<name>:<query>` whose first row's first column is the script
 * (sieve-ref-ec-include.md). A missing file or an empty result is null.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Datasources } from './datasource.js';

export function includeLoader(options: { baseDir: string; datasources?: Datasources }) {
  return async (uri: string, args: readonly string[]): Promise<string | null> => {
    const m = /^:datasource:([^:]+):(.*)$/s.exec(uri);
    if (m) {
      const ds = options.datasources?.get(m[1]!);
      if (!ds) return null;
      const rows = await ds.query(m[2]!, args, 1);
      const first = rows[0] && Object.values(rows[0])[0];
      return first ?? null;
    }
    try {
      return await readFile(path.resolve(options.baseDir, uri), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  };
}
