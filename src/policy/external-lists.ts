/**
 * The external lists Sieve's extlists reads (RFC 6134), built from the
 * configuration's `List` scopes (docs/configuration.md): members written
 * inline and read from a file, one a line. They are built with the policy,
 * so SIGHUP reads the files again; a file that cannot be read is an error
 * at the scope's line, and a reload then keeps the running lists.
 */
import { readFile } from 'node:fs/promises';
import type { Config } from '../config/index.js';
import type { Diagnostic } from '../diagnostics.js';
import { type ExternalList, normalizeListName } from '../sieve/index.js';

/** Members compare without regard to case: addresses and domains as people write them. */
function memberList(members: string[]): ExternalList {
  const folded = new Set(members.map((m) => m.toLowerCase()));
  return { contains: (v) => folded.has(v.toLowerCase()), members: () => members };
}

/** One member a line; blank lines and `#` comments are skipped. */
export function parseListFile(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = line.trim();
    if (m && !m.startsWith('#')) out.push(m);
  }
  return out;
}

export async function loadExternalLists(config: Config): Promise<{ lists: Map<string, ExternalList>; diagnostics: Diagnostic[] }> {
  const lists = new Map<string, ExternalList>();
  const diagnostics: Diagnostic[] = [];
  for (const l of config.externalLists ?? []) {
    const at = { file: l.declaredAt.file, line: l.declaredAt.line, column: l.declaredAt.column, offset: 0 };
    const name = normalizeListName(l.name);
    if (name === null) {
      diagnostics.push({ severity: 'error', message: `List "${l.name}": a list name is a URN or tag URI (RFC 6134 2.1), e.g. "tag:example.com,2024:blocked" or ":addrbook:default"`, ...at });
      continue;
    }
    if (lists.has(name)) {
      diagnostics.push({ severity: 'error', message: `List "${l.name}": a list of this name is already defined`, ...at });
      continue;
    }
    const members = [...l.values];
    if (l.file !== null) {
      try {
        members.push(...parseListFile(await readFile(l.file, 'utf8')));
      } catch (e) {
        diagnostics.push({ severity: 'error', message: `List "${l.name}": cannot read ${l.file} (${(e as NodeJS.ErrnoException).code ?? e})`, ...at });
        continue;
      }
    }
    lists.set(name, memberList(members));
  }
  return { lists, diagnostics };
}
