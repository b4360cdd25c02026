/**
 * RFC 6134: externally stored lists. The `:list` match type (2.2) asks
 * whether a value is on any of the lists the keys name, the
 * `valid_ext_list` test (2.3) whether the names are lists the host knows,
 * and `redirect :list` (2.4) sends the message to a list's addresses.
 * The lists themselves belong to the host (SieveHost.externalList): the
 * core reads no files and no configuration.
 */
import type { MatchType } from '../match/match-types.js';
import type { CommandDef, Extension, TagSpec } from '../registry.js';
import type { ExternalList } from '../runtime/host.js';
import type { Runtime } from '../runtime/runtime.js';
import { constantString } from '../validate.js';
import { normaliseRedirect, redirectAction } from './core-actions.js';

const SIEVE_URN = 'urn:ietf:params:sieve';
/** RFC 8141 2: "urn:" NID ":" NSS, with optional ?+ / ?= components and a # fragment. */
const URN = /^urn:([a-z0-9][a-z0-9-]{0,30}[a-z0-9]):([^\s?#]+)((?:\?\+[^\s?#]*)?(?:\?=[^\s#]*)?)(#\S*)?$/i;
/** RFC 4151: "tag:" authority "," date ":" specific, without whitespace. */
const TAG = /^tag:[^\s,]+,\d{4}(?:-\d{2}){0,2}:\S*$/i;

/**
 * The one spelling of a list name hosts are asked about (RFC 6134 2.1):
 * a leading ":" stands for "urn:ietf:params:sieve", and names compare
 * without regard to case. Null when the name is not a URN or tag URI
 * (the schemes external lists are named with).
 */
export function normalizeListName(name: string): string | null {
  const uri = name.startsWith(':') ? SIEVE_URN + name : name;
  if (!URN.test(uri) && !TAG.test(uri)) return null;
  return uri.toLowerCase();
}

function listOf(rt: Pick<Runtime, 'host'>, name: string): ExternalList | undefined {
  const n = normalizeListName(name);
  return n === null ? undefined : rt.host.externalList?.(n);
}

/**
 * RFC 6134 2.2: true when any value is on any of the named lists; ${0} is
 * the value found. A key that names no list is a warning (once per test),
 * not an error, as Pigeonhole reports it; the test is then false for it.
 */
const listMatch: MatchType = {
  name: 'list',
  captures: true,
  noComparator: true,
  anyValue: true,
  matchAll(values, keys, ctx) {
    const lists: ExternalList[] = [];
    let warned = false;
    for (const key of keys) {
      const n = normalizeListName(key);
      const list = n === null ? undefined : ctx.externalList?.(n);
      if (list) lists.push(list);
      else if (!warned) {
        warned = true;
        ctx.warn?.(n === null ? `key item '${key}' for ":list" match is not a valid list name` : `key item '${key}' for ":list" match is not a known list name`);
      }
    }
    for (const value of values) {
      for (const list of lists) if (list.contains(value)) return ctx.wantCaptures ? [value] : true;
    }
    return false;
  },
};

const validExtList: CommandDef = {
  name: 'valid_ext_list',
  kind: 'test',
  positional: [{ name: 'ext-list-names', type: 'stringlist' }],
  evaluate: (b, rt) => rt.list(b.args[0]!).every((name) => listOf(rt, name) !== undefined),
};

/**
 * RFC 6134 2.4: `redirect :list "name"` redirects to every address on the
 * list (members that are domains, not addresses, are passed over with a
 * warning). Each redirect counts against the redirect limit (RFC 5228
 * 2.10.6); `:copy` applies to each. A list the host does not have is a
 * compile error when the compiler knows the lists, else a runtime error.
 */
const redirectList: NonNullable<TagSpec['instead']> = {
  validate(b, v) {
    const c = constantString(b.args[0]);
    if (c === null) return;
    const n = normalizeListName(c);
    if (n === null) v.error(b.args[0]!.node.pos, `redirect :list: '${c}' is not a valid list name (a URN or tag URI)`);
    else if (v.options.knownList && !v.options.knownList(n)) v.error(b.args[0]!.node.pos, `redirect :list: unknown list '${c}'`);
  },
  execute(b, rt) {
    const name = rt.string(b.args[0]!);
    if (normalizeListName(name) === null) return rt.fail(`redirect :list: '${name}' is not a valid list name (a URN or tag URI)`, b.node.pos);
    const list = listOf(rt, name);
    if (!list) return rt.fail(`redirect :list: unknown list '${name}'`, b.node.pos);
    for (const member of list.members()) {
      const to = normaliseRedirect(member);
      if (to === null) rt.warn(`redirect :list: '${member}' on list '${name}' is not an address; skipped`, b.node.pos);
      else rt.take(b, redirectAction, { target: to });
    }
  },
};

export const extlists: Extension = {
  capability: 'extlists',
  matchTypes: [listMatch],
  commands: [validExtList],
  attachTags: [{ commands: ['redirect'], tag: { name: 'list', instead: redirectList } }],
};
