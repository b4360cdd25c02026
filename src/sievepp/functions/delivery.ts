/**
 * Momentum's actions that change where the message goes or what goes out,
 * each one typed definition (src/sieve/action.ts) the host carries out
 * when it delivers (docs/momentum-compatibility.md says what the SMTP
 * server does with each):
 *
 *   ec_forward <from> <to|list> <text> [<subject>] [<counter>]   forward: data { from, to, text, subject? }
 *   ec_rewrite_mailfrom <address> [<counter>]                    rewrite_mailfrom: target = address
 *   add_recipient <address>                                      add_recipient: target = address
 *   ec_set_binding <name> / ec_set_binding_group <name>          set_binding: data { binding | group }
 *   generate_mail_raw <from> <to|list> <text>                    generate_mail: data { from, to, text }
 *   disclaimer_add <hash: html, plain>                           disclaimer: data { html?, plain? }
 */
import type { Action, ActionDef } from '../../sieve/action.js';
import { formatAddress, parseAddressList } from '../../sieve/runtime/address.js';
import type { Bound } from '../../sieve/registry.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import { argString, argValue, type ParamSpec, type SieveFunction } from '../functions.js';
import { hostOf } from '../host.js';
import { toList, toStr } from '../values.js';

const COUNTER: ParamSpec = { name: 'counter', type: 'string', optional: true };

/** Phases with a message (sieve-ref-3-function-summary.md: "data and later"). */
const WITH_MESSAGE = ['data', 'each_rcpt', 'spool'] as const;

function countHit(b: Bound, rt: Runtime, counterArg: number): void {
  const named = b.args.length > counterArg ? argString(b, rt, counterArg) : undefined;
  hostOf(rt).incrementCounter?.(named || `sieve:${b.node.pos.line}`, 1);
}

/** One RFC 5322 address (a display name allowed), normalised; a runtime error otherwise. */
function address(b: Bound, rt: Runtime, text: string, fn: string, allowNull = false): string {
  if (allowNull && (text === '' || text === '<>')) return '';
  const list = parseAddressList(text);
  if (!list || list.length !== 1 || !list[0]!.domain) return rt.fail(`${fn}: '${text}' is not an email address`, b.node.pos);
  return formatAddress(list[0]!);
}

const addresses = (b: Bound, rt: Runtime, i: number, fn: string): string[] => toList(argValue(b, rt, i)!).map((t) => address(b, rt, t, fn));

const keeps = (): boolean => false;
const describeData = (a: Action) => `${a.type} ${a.target ?? JSON.stringify(a.data ?? {})}`;

/** A new message to each recipient with the original attached (sieve-ref-ec-forward.md); the original is still kept. */
export const forwardAction: ActionDef = { type: 'forward', cancelsImplicitKeep: keeps, describe: describeData };
/** The envelope sender becomes `target`; headers and body are unchanged (sieve-ref-ec-rewrite-mailfrom.md). */
export const rewriteMailfromAction: ActionDef = {
  type: 'rewrite_mailfrom',
  cancelsImplicitKeep: keeps,
  // The last rewrite wins: a second one replaces the first.
  repeat: (earlier, a) => ((earlier.target = a.target), 'merge'),
  describe: describeData,
};
/** One more envelope recipient for the message (sieve-ref-add-recipient.md). */
export const addRecipientAction: ActionDef = {
  type: 'add_recipient',
  cancelsImplicitKeep: keeps,
  repeat: (earlier, a) => (earlier.target === a.target ? 'merge' : undefined),
  describe: describeData,
};
/** The outbound binding (or binding group) for the message; the last one wins (sieve-ref-ec-set-binding.md). */
export const setBindingAction: ActionDef = {
  type: 'set_binding',
  cancelsImplicitKeep: keeps,
  repeat: (earlier, a) => ((earlier.data = a.data), 'merge'),
  describe: describeData,
};
/** A new message, headers and body as given, sent to the recipients (sieve-ref-generate-mail-raw.md). */
export const generateMailAction: ActionDef = { type: 'generate_mail', cancelsImplicitKeep: keeps, describe: (a) => `generate_mail to ${toStr((a.data?.to as string[]) ?? [])}` };
/** Text appended to the message's text parts that are not attachments (sieve-ref-disclaimer-add.md). */
export const disclaimerAction: ActionDef = { type: 'disclaimer', cancelsImplicitKeep: keeps, describe: describeData };

const forward: SieveFunction = {
  name: 'ec_forward',
  uses: { command: true },
  needsMessage: true,
  phases: WITH_MESSAGE,
  params: [
    { name: 'sender address', type: 'string' },
    { name: 'recipient addresses', type: 'any' },
    { name: 'text', type: 'string' },
    { name: 'subject', type: 'string', optional: true },
    COUNTER,
  ],
  call(b, rt) {
    const from = address(b, rt, argString(b, rt, 0)!, 'ec_forward', true);
    const to = addresses(b, rt, 1, 'ec_forward');
    const data: Record<string, unknown> = { from, to, text: argString(b, rt, 2)! };
    if (b.args.length > 3) data.subject = argString(b, rt, 3)!;
    countHit(b, rt, 4);
    rt.take(b, forwardAction, { data });
  },
};

const rewriteMailfrom: SieveFunction = {
  name: 'ec_rewrite_mailfrom',
  uses: { command: true },
  phases: WITH_MESSAGE,
  params: [{ name: 'address', type: 'string' }, COUNTER],
  call(b, rt) {
    const target = address(b, rt, argString(b, rt, 0)!, 'ec_rewrite_mailfrom', true);
    countHit(b, rt, 1);
    rt.take(b, rewriteMailfromAction, { target });
    // Later tests see the new sender, as in Momentum (3-reference-modules-seedlist.md logs `envelope "from"` after it).
    rt.envelope = { ...rt.envelope, from: target };
  },
};

const addRecipient: SieveFunction = {
  name: 'add_recipient',
  uses: { command: true },
  // The function summary (sieve-ref-3-function-summary.md) lists data, mailfrom, rcptto and spool; the function's
  // own page (sieve-ref-add-recipient.md) says it "should only be used in the each_rcpt phase": both are allowed.
  phases: ['mailfrom', 'rcptto', 'data', 'spool', 'each_rcpt'],
  params: [{ name: 'address', type: 'string' }],
  call: (b, rt) => void rt.take(b, addRecipientAction, { target: address(b, rt, argString(b, rt, 0)!, 'add_recipient') }),
};

const setBinding = (name: string, key: 'binding' | 'group'): SieveFunction => ({
  name,
  uses: { command: true },
  params: [{ name: key === 'binding' ? 'binding name' : 'binding group name', type: 'string' }],
  call: (b, rt) => void rt.take(b, setBindingAction, { data: { [key]: argString(b, rt, 0)! } }),
});

const generateMail: SieveFunction = {
  name: 'generate_mail_raw',
  uses: { command: true },
  params: [
    { name: 'sender address', type: 'string' },
    { name: 'recipient addresses', type: 'any' },
    { name: 'message', type: 'string' },
  ],
  call(b, rt) {
    const from = address(b, rt, argString(b, rt, 0)!, 'generate_mail_raw', true);
    rt.take(b, generateMailAction, { data: { from, to: addresses(b, rt, 1, 'generate_mail_raw'), text: argString(b, rt, 2)! } });
  },
};

const disclaimer: SieveFunction = {
  name: 'disclaimer_add',
  uses: { command: true },
  needsMessage: true,
  phases: WITH_MESSAGE,
  params: [{ name: 'hash', type: 'any' }],
  call(b, rt) {
    const h = argValue(b, rt, 0);
    if (!(h instanceof Map)) return rt.fail('disclaimer_add: the argument must be a hash with "html" and/or "plain"', b.node.pos);
    const data: Record<string, unknown> = {};
    for (const k of ['html', 'plain']) if (h.has(k)) data[k] = toStr(h.get(k)!);
    if (!Object.keys(data).length) return rt.fail('disclaimer_add: the hash has neither "html" nor "plain"', b.node.pos);
    rt.take(b, disclaimerAction, { data });
  },
};

export const deliveryFunctions: SieveFunction[] = [
  forward,
  rewriteMailfrom,
  addRecipient,
  setBinding('ec_set_binding', 'binding'),
  setBinding('ec_set_binding_group', 'group'),
  generateMail,
  disclaimer,
];
