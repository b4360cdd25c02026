/**
 * Momentum Sieve++ actions: each one typed definition (src/sieve/action.ts)
 * that the SMTP server turns into a reply (docs/server.md, "What actions
 * mean"):
 *
 *   ec_action <code> <reason> [<counter>]      ecActionAction: data { code, text }
 *   ec_disconnect <code> <reason> [<counter>]  ecDisconnectAction: data { code, text }
 *   ec_tarpit <seconds> [<counter>]            ecTarpitAction: data { seconds }
 *   ec_reject <reason> [<counter>]             reject (RFC 5429)
 *   ec_discard / ec_keep                       discard / keep
 *   ec_redirect <address> [<counter>]          redirect
 *
 * ec_action and ec_disconnect decide the reply, so they end the script
 * (sieve-ref-ec-action.md: "a terminal action"). A 4xx/5xx ec_action and
 * every ec_disconnect cancel the implicit keep; a 2xx/3xx ec_action does
 * not (the message is still accepted). The aliases are the standard
 * commands under Momentum's names, with their rules (reject conflicts with
 * keep/redirect, RFC 5429 2.1), and do not end the run.
 *
 * The optional counter names the hit counter the action counts in (the
 * host's incrementCounter); without it, Momentum counts by script file and
 * line, and so does this.
 */
import type { ActionDef } from '../sieve/action.js';
import { discardCommand, keepCommand, redirectCommand } from '../sieve/extensions/core-actions.js';
import { rejectAction } from '../sieve/extensions/reject.js';
import type { Bound } from '../sieve/registry.js';
import type { Runtime } from '../sieve/runtime/runtime.js';
import { argNumber, argString, type ParamSpec, type SieveFunction } from './functions.js';
import { hostOf } from './host.js';

/** Default bound on ec_tarpit (MomentumHost.maxTarpitSeconds overrides): a client is waiting. */
export const DEFAULT_MAX_TARPIT_SECONDS = 60;

/**
 * Reply text as the server will send it: CRLF and CR become line breaks,
 * other control characters are dropped (a script must not be able to
 * inject protocol lines), surrounding blank lines go.
 */
export function replyText(s: string): string {
  return s
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .replace(/^\n+|\n+$/g, '');
}

const COUNTER: ParamSpec = { name: 'counter', type: 'string', optional: true };

/** Counts a hit of the action in its counter: the one named, else "file:line" as Momentum does. */
function countHit(b: Bound, rt: Runtime, counterArg: number): void {
  const named = b.args.length > counterArg ? argString(b, rt, counterArg) : undefined;
  hostOf(rt).incrementCounter?.(named || `sieve:${b.node.pos.line}`, 1);
}

const describeReply = (a: { type: string; data?: Record<string, unknown> }) => `${a.type} ${String(a.data?.code ?? '')} ${JSON.stringify(a.data?.text ?? '')}`;

/** ec_action: the reply for this phase; 4xx/5xx refuse and cancel the implicit keep. */
export const ecActionAction: ActionDef = {
  type: 'ec_action',
  final: true,
  cancelsImplicitKeep: (a) => Number(a.data?.code) >= 400,
  describe: describeReply,
};

/** ec_disconnect: the reply, then the connection closes. */
export const ecDisconnectAction: ActionDef = {
  type: 'ec_disconnect',
  final: true,
  cancelsImplicitKeep: () => true,
  describe: describeReply,
};

/** ec_tarpit: the reply is delayed; several tarpits add up at the server. */
export const ecTarpitAction: ActionDef = {
  type: 'ec_tarpit',
  cancelsImplicitKeep: () => false,
  describe: (a) => `ec_tarpit ${String(a.data?.seconds ?? '')}`,
};

function replyCode(b: Bound, rt: Runtime, name: string, min: number): number {
  const code = argNumber(b, rt, 0, name);
  if (code < min || code > 599) rt.fail(`${name}: ${code} is not an SMTP reply code (${min}-599)`, b.node.pos);
  return code;
}

/**
 * A bare `ec_disconnect;` (as sieve-syntax-basic.md writes it): close the
 * connection once this phase's reply is sent, whatever reply that is; the
 * run goes on, so a following ec_action still chooses the reply.
 */
export const closeAfterReplyAction: ActionDef = {
  type: 'close_after_reply',
  cancelsImplicitKeep: () => false,
  repeat: () => 'merge',
  describe: () => 'close_after_reply',
};

const reply = (name: 'ec_action' | 'ec_disconnect', def: ActionDef, min: number): SieveFunction => ({
  name,
  uses: { command: true },
  // ec_disconnect may also stand alone (closeAfterReplyAction). The core
  // leaves out the leading optional slots when fewer arguments are given,
  // so its slots are untyped and keep the order written; call() checks them.
  params:
    name === 'ec_disconnect'
      ? [
          { name: 'code', type: 'any', optional: true },
          { name: 'reason', type: 'any', optional: true },
          { name: 'counter', type: 'any', optional: true },
        ]
      : [
          { name: 'code', type: 'number' },
          { name: 'reason', type: 'string' },
          COUNTER,
        ],
  validate(b, v) {
    const a = b.args[0];
    if (a?.kind === 'number' && (a.value < min || a.value > 599)) v.error(a.node.pos, `${name}: ${a.value} is not an SMTP reply code (${min}-599)`);
    if (b.args.length === 1) v.error(b.node.pos, `${name}: a reply code needs a reason after it`);
  },
  call(b, rt) {
    if (b.args.length === 0) return void rt.take(b, closeAfterReplyAction);
    const code = replyCode(b, rt, name, min);
    const text = replyText(argString(b, rt, 1)!);
    countHit(b, rt, 2);
    rt.take(b, def, { data: { code, text } });
  },
});

const tarpit: SieveFunction = {
  name: 'ec_tarpit',
  uses: { command: true },
  params: [{ name: 'seconds', type: 'number' }, COUNTER],
  call(b, rt) {
    const seconds = argNumber(b, rt, 0, 'ec_tarpit');
    countHit(b, rt, 1);
    takeTarpit(b, rt, seconds, `ec_tarpit: ${seconds} seconds is over the limit`);
  },
};

/** A tarpit of `seconds`, bounded by the host's longest (a client is waiting); past it, `over` and the bound are a warning. */
export function takeTarpit(b: Bound, rt: Runtime, seconds: number, over: string): void {
  const max = hostOf(rt).maxTarpitSeconds ?? DEFAULT_MAX_TARPIT_SECONDS;
  if (seconds > max) rt.warn(`${over}, delaying ${max}`, b.node.pos);
  rt.take(b, ecTarpitAction, { data: { seconds: Math.min(seconds, max) } });
}

const ecReject: SieveFunction = {
  name: 'ec_reject',
  uses: { command: true },
  params: [{ name: 'reason', type: 'string' }, COUNTER],
  call(b, rt) {
    countHit(b, rt, 1);
    rt.take(b, rejectAction, { target: argString(b, rt, 0)! });
  },
};

const alias = (name: string, def: typeof keepCommand, params: SieveFunction['params'], counterArg?: number): SieveFunction => ({
  name,
  uses: { command: true },
  params: counterArg === undefined ? params : [...params, COUNTER],
  validate: def.validate ? (b, v) => def.validate!(b, v) : undefined,
  call(b, rt) {
    if (counterArg !== undefined) countHit(b, rt, counterArg);
    return def.execute!(b, rt);
  },
});

export const sieveppActions: SieveFunction[] = [
  reply('ec_action', ecActionAction, 200),
  reply('ec_disconnect', ecDisconnectAction, 400),
  tarpit,
  ecReject,
  alias('ec_discard', discardCommand, []),
  alias('ec_keep', keepCommand, []),
  alias('ec_redirect', redirectCommand, [{ name: 'address', type: 'string' }], 1),
];
