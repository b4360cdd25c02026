/**
 * The shape checks of validation, in Pigeonhole's words: how many tests a
 * command takes (RFC 5228 8.2), whether it takes a block, and whether its
 * comparator and match type go together (RFC 5228 2.7.3, RFC 5231 5).
 */
import { asciiCasemap as DEFAULT_COMPARATOR } from './match/comparators.js';
import { REL_OPS } from './match/match-types.js';
import type { Bound } from './registry.js';
import type { Validator } from './validate.js';

/** What a message calls the command or test being checked ("fileinto command"), made only when a message is. */
export type Describe = () => string;

/** RFC 5228 2.6.3/8.2: how many tests a command takes. */
export function subtestCount(v: Validator, b: Bound, what: Describe): boolean {
  const shape = b.def.tests ?? 'none';
  const n = b.node.tests;
  if (shape === 'none') {
    if (n.length === 0) return true;
    const first = n[0]!;
    const other = v.registry.commands.get(first.name);
    if (other && other.def.kind !== 'command') v.error(b.node.pos, `the ${what()} accepts no sub-tests, but tests are specified`);
    else if (!other && v.tagsFor(b.def).has(first.name)) v.error(b.node.pos, `missing colon ':' before ':${first.raw}' tag in ${what()}`);
    else v.error(b.node.pos, `missing semicolon ';' after ${what()}`);
    return false;
  }
  if (shape === 'one') {
    if (n.length === 0) v.error(b.node.pos, `the ${what()} requires one sub-test, but none is specified`);
    else if (b.node.testList) v.error(b.node.pos, `the ${what()} requires one sub-test, but a list of tests is specified`);
    else return true;
    return false;
  }
  if (n.length === 0 && !b.node.testList) v.error(b.node.pos, `the ${what()} requires a list of sub-tests, but none is specified`);
  else if (!b.node.testList) v.error(b.node.pos, `the ${what()} requires a list of sub-tests, but a single test is specified`);
  else return true;
  return false;
}

export function blockShape(v: Validator, b: Bound, what: Describe): boolean {
  const shape = b.def.block ?? 'none';
  const has = (b.node as { block?: unknown }).block != null;
  if (shape === 'required' && !has) v.error(b.node.pos, `the ${what()} requires a command block, but it is missing`);
  else if (shape === 'none' && has) v.error(b.node.pos, `the ${what()} does not accept a command block, but one is specified anyway`);
  else return true;
  return false;
}


/** RFC 5228 2.7.3: the comparator must support the match type; RFC 5231 5: a known operator. */
export function matchChecks(v: Validator, b: Bound, what: Describe, comparatorGiven = false): boolean {
  const mt = b.matchType;
  if (!mt) return true;
  const cmp = b.comparator;
  if (mt.def.noComparator && comparatorGiven) {
    v.error(b.node.pos, `the :${mt.def.name} match type does not allow a comparator`);
    return false;
  }
  if (mt.def.substring && cmp && !cmp.fold) {
    v.error(b.node.pos, `the specified ${cmp.name} comparator does not support sub-string matching as required by the :${mt.def.name} match type of the ${what()}`);
    return false;
  }
  if (mt.def.checkKey) {
    // Constant keys are checked now (a bad regex is a compile error); the
    // key list is the last positional argument of every test with a match type.
    const keys = b.args[b.args.length - 1];
    const templates = keys?.kind === 'stringlist' ? keys.templates : keys?.kind === 'string' ? [keys.template] : [];
    for (const t of templates) {
      const problem = typeof t === 'string' ? mt.def.checkKey(t, cmp ?? DEFAULT_COMPARATOR) : null;
      if (problem) {
        v.error(keys!.node.pos, `${problem} in the key list of the ${what()}`);
        return false;
      }
    }
  }
  if (mt.def.relational) {
    const op = mt.arg;
    const name = op && op.kind === 'string' && typeof op.template === 'string' ? op.template.toLowerCase() : null;
    const layered = name === null ? undefined : v.options.language?.relationalOps?.get(name);
    if (name === null || (!REL_OPS.includes(name) && !layered)) {
      v.error(op?.node.pos ?? b.node.pos, `invalid relational match type '${name ?? ''}' for the ${what()}`);
      return false;
    }
    if (layered) mt.relational = layered;
  }
  return true;
}
