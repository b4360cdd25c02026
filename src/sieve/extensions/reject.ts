/**
 * RFC 5429: reject and ereject. Both refuse the message with a reason and
 * cancel the implicit keep; at SMTP time they become a 550 reply (see
 * docs/server.md, "What actions mean"). They conflict with actions that deliver the message
 * or respond to the sender, before or after them, and with each other
 * (section 2.1): their action definitions say so.
 */
import type { Action, ActionDef } from '../action.js';
import type { CommandDef, Extension } from '../registry.js';

const refuses = (a: Action): boolean => a.def === rejectAction || a.def === erejectAction;

const rejectLikeAction = (type: 'reject' | 'ereject'): ActionDef => ({
  type,
  cancelsImplicitKeep: () => true,
  conflict(earlier, a) {
    if (refuses(a)) {
      if (refuses(earlier)) return `duplicate ${a.type} action not allowed`;
      // A delivery already carried out (an earlier script's, run in sequence) is done: the refusal still goes out.
      return (earlier.def.delivers || earlier.def.responds) && !earlier.executed ? `${a.type} action conflicts with earlier ${earlier.type} action` : null;
    }
    return refuses(earlier) && (a.def.delivers || a.def.responds) ? `${a.type} action conflicts with earlier ${earlier.type} action` : null;
  },
  // A refusal already sent: a second one adds nothing.
  redundant: (earlier) => refuses(earlier),
  describe: (x) => `${x.type} message with reason: ${JSON.stringify(x.target ?? '')}`,
});

export const rejectAction: ActionDef = rejectLikeAction('reject');
export const erejectAction: ActionDef = rejectLikeAction('ereject');

const rejectLike = (name: 'reject' | 'ereject', def: ActionDef): CommandDef => ({
  name,
  kind: 'command',
  positional: [{ name: 'reason', type: 'string' }],
  // A language may let the reason go (Momentum's `reject;`, src/sievepp/language.ts): it is then empty.
  execute: (b, rt) => void rt.take(b, def, { target: b.args.length > 0 ? rt.string(b.args[0]!) : '' }),
});

export const reject: Extension = { capability: 'reject', commands: [rejectLike('reject', rejectAction)] };
export const ereject: Extension = { capability: 'ereject', commands: [rejectLike('ereject', erejectAction)] };
