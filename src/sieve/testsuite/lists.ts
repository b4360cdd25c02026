/**
 * The external lists (RFC 6134) of Pigeonhole's testsuite, from the
 * settings test_config_set made: "sieve_extlists_list" names the lists,
 * and each list's Dovecot "file" dict (alternating key and value lines,
 * keys "priv/sieve/extlists/VALUE") holds its members; a list without a
 * dict is empty. As in Pigeonhole, the default address book always exists
 * and values compare exactly (a dict look-up).
 */
import { readFileSync } from 'node:fs';
import { normalizeListName } from '../extensions/extlists.js';
import type { ExternalList } from '../runtime/host.js';
import { parseDict } from './state.js';

const DEFAULT_LIST = 'urn:ietf:params:sieve:addrbook:default';
const KEY_PREFIX = 'priv/sieve/extlists/';

/** The lists the settings define, by normalised name. */
function suiteLists(config: ReadonlyMap<string, string>): Map<string, string | undefined> {
  const lists = new Map<string, string | undefined>();
  for (const name of (config.get('sieve_extlists_list') ?? '').split(/\s+/).filter(Boolean)) {
    const n = normalizeListName(name);
    if (n !== null) lists.set(n, config.get(`sieve_extlists_list/${name}/dict/file/path`));
  }
  if (!lists.has(DEFAULT_LIST)) lists.set(DEFAULT_LIST, undefined);
  return lists;
}

function readDictList(path: string | undefined): ExternalList {
  const members: string[] = [];
  if (path !== undefined) {
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      // A missing dict file reads as an empty list, as an empty dict does.
    }
    for (const key of parseDict(text).keys()) if (key.startsWith(KEY_PREFIX)) members.push(key.slice(KEY_PREFIX.length));
  }
  const set = new Set(members);
  return { contains: (v) => set.has(v), members: () => members };
}

/** SieveHost.externalList and CompileOptions.knownList for the suite's current settings. */
export function suiteExternalLists(config: ReadonlyMap<string, string>) {
  return {
    externalList(name: string): ExternalList | undefined {
      const lists = suiteLists(config);
      return lists.has(name) ? readDictList(lists.get(name)) : undefined;
    },
    knownList: (name: string): boolean => suiteLists(config).has(name),
  };
}
