/**
 * RFC 5429: reject and ereject. Both refuse the message with a reason and
 * cancel the implicit keep; at SMTP time they become a 550 reply (see
 * docs/sieve-dialect). They conflict with actions that deliver the message
 * (section 2.1), which SieveResult enforces.
 */
import type { CommandDef, Extension } from '../registry.js';

const rejectLike = (name: 'reject' | 'ereject'): CommandDef => ({
  name,
  kind: 'command',
  positional: [{ name: 'reason', type: 'string' }],
  execute: (b, rt) => rt.addAction({ type: name, pos: b.node.pos, target: rt.string(b.args[0]!) }, true),
});

export const reject: Extension = { capability: 'reject', commands: [rejectLike('reject')] };
export const ereject: Extension = { capability: 'ereject', commands: [rejectLike('ereject')] };
