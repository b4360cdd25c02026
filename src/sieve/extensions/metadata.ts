/**
 * RFC 5490 sections 3.2-3.4 and 4: mailbox and server annotations (RFC 5464
 * METADATA). "mboxmetadata" adds `metadataexists <mailbox> <names>` and
 * `metadata [match] <mailbox> <name> <keys>`; "servermetadata" adds the
 * same without the mailbox. The values are the host's (SieveHost.metadata).
 * An entry that does not exist makes `metadata` false, even with :count,
 * as environment does (RFC 5183 4).
 */
import { andThen, matchTest } from '../interpreter.js';
import type { Bound, CommandDef, Extension, MaybePromise, Value } from '../registry.js';
import { normalizeMailbox } from '../runtime/result.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Validator } from '../validate.js';
import { constantString } from '../validate.js';
import { mailboxNameProblem } from './fileinto.js';

/** RFC 5464 3.2: entries live under /private or /shared; each part non-empty, no "*", "%" or control characters. */
// eslint-disable-next-line no-control-regex
const ENTRY = /^\/(private|shared)(\/[^/*%\x00-\x1f\x7f]+)+$/i;

export function isAnnotationName(name: string): boolean {
  return ENTRY.test(name);
}

function warnConstants(v: Validator, what: string, mailbox: Value | undefined, names: Value): void {
  const box = constantString(mailbox);
  const problem = box === null ? null : mailboxNameProblem(box);
  if (problem) v.warning(mailbox!.node.pos, `${what}: ${problem}`);
  const list = names.kind === 'stringlist' ? (names.constant ?? []) : [constantString(names)].filter((n): n is string => n !== null);
  const bad = list.find((n) => !isAnnotationName(n));
  if (bad !== undefined) v.warning(names.node.pos, `${what}: invalid annotation name '${bad}'`);
}

/** One entry's value, or undefined (no such entry, a malformed name or mailbox, or no host answer). */
function entry(rt: Runtime, mailbox: string | null, name: string): MaybePromise<string | undefined> {
  if (!isAnnotationName(name)) return undefined;
  if (mailbox !== null && mailboxNameProblem(mailbox)) return undefined;
  return rt.host.metadata?.(mailbox === null ? null : normalizeMailbox(mailbox), name);
}

function allExist(rt: Runtime, mailbox: string | null, names: string[], i = 0): MaybePromise<boolean> {
  for (; i < names.length; i++) {
    const v = entry(rt, mailbox, names[i]!);
    if (v instanceof Promise) {
      const next = i + 1;
      return v.then((x) => (x === undefined ? false : allExist(rt, mailbox, names, next)));
    }
    if (v === undefined) return false;
  }
  return true;
}

function metadataTest(name: string, withMailbox: boolean): CommandDef {
  const lead = withMailbox ? [{ name: 'mailbox', type: 'string' as const }] : [];
  return {
    name,
    kind: 'test',
    families: ['comparator', 'match-type'],
    positional: [...lead, { name: 'annotation-name', type: 'string' }, { name: 'key-list', type: 'stringlist' }],
    validate: (b, v) => warnConstants(v, name, withMailbox ? b.args[0] : undefined, b.args[withMailbox ? 1 : 0]!),
    evaluate(b, rt) {
      const mailbox = withMailbox ? rt.string(b.args[0]!) : null;
      const at = withMailbox ? 1 : 0;
      return andThen(entry(rt, mailbox, rt.string(b.args[at]!)), (value) => (value === undefined ? false : matchTest(b, rt, [value], rt.list(b.args[at + 1]!))));
    },
  };
}

function existsTest(name: string, withMailbox: boolean): CommandDef {
  const lead = withMailbox ? [{ name: 'mailbox', type: 'string' as const }] : [];
  return {
    name,
    kind: 'test',
    positional: [...lead, { name: 'annotation-names', type: 'stringlist' }],
    validate: (b: Bound, v: Validator) => warnConstants(v, name, withMailbox ? b.args[0] : undefined, b.args[withMailbox ? 1 : 0]!),
    evaluate: (b, rt) => allExist(rt, withMailbox ? rt.string(b.args[0]!) : null, rt.list(b.args[withMailbox ? 1 : 0]!)),
  };
}

export const mboxmetadata: Extension = {
  capability: 'mboxmetadata',
  commands: [metadataTest('metadata', true), existsTest('metadataexists', true)],
};

export const servermetadata: Extension = {
  capability: 'servermetadata',
  commands: [metadataTest('servermetadata', false), existsTest('servermetadataexists', false)],
};
