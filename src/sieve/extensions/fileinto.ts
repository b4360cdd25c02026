/**
 * RFC 5228 4.1: fileinto. Stores into the named mailbox; cancels the
 * implicit keep (unless :copy, RFC 3894). A mailbox that does not exist is
 * an error when the result is executed, not when the script runs.
 */
import type { Extension } from '../registry.js';
import { constantString } from '../validate.js';
import { flagsFor, storeAction } from './core-actions.js';

/** Pigeonhole refuses mailbox names that are not valid UTF-8 or contain control characters. */
export function mailboxNameProblem(name: string): string | null {
  if (name.includes('\ufffd')) return 'invalid folder name: not valid UTF-8';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name) || name === '') return `invalid folder name '${name}'`;
  return null;
}

export const fileinto: Extension = {
  capability: 'fileinto',
  commands: [
    {
      name: 'fileinto',
      kind: 'command',
      positional: [{ name: 'folder', type: 'string' }],
      validate(b, v) {
        // A constant name is checked now; one built from variables when it is used.
        const c = constantString(b.args[0]);
        const problem = c === null ? null : mailboxNameProblem(c);
        if (problem) v.error(b.args[0]!.node.pos, `fileinto: ${problem}`);
      },
      execute(b, rt) {
        const box = rt.string(b.args[0]!);
        const problem = mailboxNameProblem(box);
        if (problem) rt.fail(`fileinto: ${problem}`, b.node.pos);
        const data = b.tags.has('create') ? { create: true } : undefined;
        rt.take(b, storeAction, { target: box, flags: flagsFor(b, rt), data });
      },
    },
  ],
};
