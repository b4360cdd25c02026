/**
 * RFC 8579: special-use mailboxes (RFC 6154 attributes such as "\Junk").
 * `specialuse_exists [<mailbox>] <flags>` asks whether every flag is
 * assigned to some mailbox (or, with a mailbox, to that mailbox), and
 * `fileinto :specialuse <flag> <mailbox>` files into the mailbox carrying
 * the flag, falling back to the named one (section 3.3). Which mailbox
 * carries which flag is the host's to say (SieveHost.specialUseMailboxes).
 */
import { andThen } from '../interpreter.js';
import type { Bound, Extension, MaybePromise } from '../registry.js';
import { normalizeMailbox } from '../runtime/result.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Validator } from '../validate.js';
import { constantString } from '../validate.js';
import { mailboxNameProblem } from './fileinto.js';

/** RFC 6154 2 / RFC 3501 9: "\" followed by an atom (no space, control, ( ) { % * " \ ]). */
// eslint-disable-next-line no-control-regex
const FLAG = /^\\[^\x00-\x20\x7f(){%*"\\\]]+$/;

export function isSpecialUseFlag(s: string): boolean {
  return FLAG.test(s);
}

function checkFlags(b: Bound, v: Validator, what: string): void {
  const flags = b.args[b.args.length - 1]!;
  const list = flags.kind === 'stringlist' && flags.constant ? flags.constant : flags.kind === 'string' && typeof flags.template === 'string' ? [flags.template] : [];
  for (const f of list) {
    if (!isSpecialUseFlag(f)) {
      v.error(flags.node.pos, `${what}: invalid special-use flag '${f}' specified`);
      return;
    }
  }
}

function mailboxesWith(rt: Runtime, flag: string): readonly string[] {
  return rt.host.specialUseMailboxes?.(flag) ?? [];
}

/** RFC 8579 3.2: with a mailbox, it must exist and carry every flag; without, every flag must be assigned. */
function specialUseExists(b: Bound, rt: Runtime): MaybePromise<boolean> {
  const flags = rt.list(b.args[b.args.length - 1]!);
  // A flag written wrongly in a variable is never assigned (Pigeonhole: false, with no run-time error).
  if (!flags.every(isSpecialUseFlag)) return false;
  if (b.args.length === 1) return flags.every((f) => mailboxesWith(rt, f).length > 0);
  const name = rt.string(b.args[0]!);
  if (mailboxNameProblem(name)) return false;
  const box = normalizeMailbox(name);
  const carries = () => flags.every((f) => mailboxesWith(rt, f).some((m) => normalizeMailbox(m) === box));
  const exists = rt.host.mailboxExists?.(name);
  if (exists === undefined) return false;
  return andThen(exists, (ok) => ok && carries());
}

export const specialUse: Extension = {
  capability: 'special-use',
  commands: [
    {
      name: 'specialuse_exists',
      kind: 'test',
      positional: [
        { name: 'mailbox', type: 'string', optional: true },
        { name: 'special-use-flags', type: 'stringlist' },
      ],
      validate(b, v) {
        if (b.args.length === 2) {
          const c = constantString(b.args[0]);
          const problem = c === null ? null : mailboxNameProblem(c);
          if (problem) v.warning(b.args[0]!.node.pos, `specialuse_exists: ${problem}`);
        }
        checkFlags(b, v, 'specialuse_exists');
      },
      evaluate: specialUseExists,
    },
  ],
  attachTags: [
    {
      commands: ['fileinto'],
      tag: {
        name: 'specialuse',
        args: [{ name: 'special-use-flag', type: 'string' }],
        check(b, v) {
          const arg = b.tags.get('specialuse')!.args[0]!;
          const c = constantString(arg);
          if (c !== null && !isSpecialUseFlag(c)) v.error(arg.node.pos, `fileinto :specialuse: invalid special-use flag '${c}' specified`);
        },
        // RFC 8579 3.3: the mailbox carrying the flag when there is one, else the one named.
        effect(a, args, rt) {
          const flag = rt.string(args[0]!);
          if (!isSpecialUseFlag(flag)) rt.fail(`fileinto :specialuse: invalid special-use flag '${flag}' specified`, a.pos);
          const box = mailboxesWith(rt, flag)[0];
          if (box !== undefined) a.target = normalizeMailbox(box);
          a.data = { ...a.data, specialUse: flag };
        },
      },
    },
  ],
};
