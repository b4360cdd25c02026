/**
 * RFC 5230: vacation. At SMTP time the reply is not sent by the Sieve core:
 * the action is recorded with everything a host needs to send it (reason,
 * subject, from, addresses, :mime, the handle and the period), and the
 * runner shows it. RFC 6131 `:seconds` is accepted as "vacation-seconds".
 *
 * Like reject, vacation does not cancel the implicit keep (RFC 5230 4.7)
 * but conflicts with reject (RFC 5429 2.1).
 */
import type { ActionDef } from '../action.js';
import type { Bound, CommandDef, Extension } from '../registry.js';
import { parseAddressList } from '../runtime/address.js';
import type { Runtime } from '../runtime/runtime.js';
import { constantString, type Validator } from '../validate.js';

/** RFC 5230 4.1: the default and bounds of :days, in days. */
const DEFAULT_DAYS = 7;

const isMailbox = (s: string) => {
  const l = parseAddressList(s);
  return l !== null && l.length === 1 && l[0]!.domain !== '';
};

function checkAddresses(b: Bound, v: Validator): void {
  const from = b.tags.get('from');
  const f = from ? constantString(from.args[0]) : null;
  if (f !== null && !isMailbox(f)) v.error(from!.args[0]!.node.pos, `specified :from address '${f}' is invalid for the vacation action`);
  const addrs = b.tags.get('addresses')?.args[0];
  if (addrs && addrs.kind === 'stringlist') {
    for (const t of addrs.templates) {
      if (typeof t === 'string' && !isMailbox(t)) v.error(addrs.node.pos, `specified :addresses item '${t}' is invalid for the vacation action`);
    }
  }
}

function tagString(b: Bound, rt: Runtime, name: string): string | undefined {
  const t = b.tags.get(name);
  return t ? rt.string(t.args[0]!) : undefined;
}

/** RFC 5230 4.7: one vacation response per run; it does not touch the implicit keep. */
export const vacationAction: ActionDef = {
  type: 'vacation',
  responds: true,
  cancelsImplicitKeep: () => false,
  repeat: () => 'duplicate vacation action not allowed',
  describe: (a) => `vacation ${JSON.stringify(a.target ?? '')}`,
};

const vacationCommand: CommandDef = {
  name: 'vacation',
  kind: 'command',
  tags: [
    { name: 'days', group: 'period', args: [{ name: 'days', type: 'number' }] },
    { name: 'subject', args: [{ name: 'subject', type: 'string' }] },
    { name: 'from', args: [{ name: 'from address', type: 'string' }] },
    { name: 'addresses', args: [{ name: 'addresses', type: 'stringlist' }] },
    { name: 'mime' },
    { name: 'handle', args: [{ name: 'handle', type: 'string' }] },
  ],
  positional: [{ name: 'reason', type: 'string' }],
  validate: checkAddresses,
  execute(b, rt) {
    const reason = rt.string(b.args[0]!);
    const days = b.tags.get('days')?.args[0];
    const seconds = b.tags.get('seconds')?.args[0];
    const period = seconds?.kind === 'number' ? seconds.value : (days?.kind === 'number' ? days.value : DEFAULT_DAYS) * 86_400;
    const addresses = b.tags.get('addresses')?.args.flatMap((a) => rt.list(a));
    rt.take(b, vacationAction, {
      target: reason,
      data: {
        reason,
        subject: tagString(b, rt, 'subject'),
        from: tagString(b, rt, 'from'),
        addresses,
        mime: b.tags.has('mime'),
        // RFC 5230 4.2: without :handle, the reason (and options) identify the response.
        handle: tagString(b, rt, 'handle') ?? `${reason}\0${tagString(b, rt, 'subject') ?? ''}\0${tagString(b, rt, 'from') ?? ''}`,
        periodSeconds: period,
      },
    });
  },
};

export const vacation: Extension = { capability: 'vacation', commands: [vacationCommand] };

/** RFC 6131: :seconds instead of :days. */
export const vacationSeconds: Extension = {
  capability: 'vacation-seconds',
  // RFC 6131 3: requiring vacation-seconds implies vacation.
  onRequire: (v, at) => void v.require('vacation', at),
  attachTags: [{ commands: ['vacation'], tag: { name: 'seconds', group: 'period', args: [{ name: 'seconds', type: 'number' }] } }],
};
