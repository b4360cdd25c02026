/**
 * Momentum Sieve++ actions, and the contract with the SMTP server that
 * turns them into replies (sieve-dialect.md, "What actions mean at SMTP time"):
 *
 *   ec_action <code> <reason>      Action { type: 'ec_action', data: { code, text } }
 *   ec_disconnect <code> <reason>  Action { type: 'ec_disconnect', data: { code, text } }
 *   ec_tarpit <seconds>            Action { type: 'ec_tarpit', data: { seconds } }
 *   ec_reject <reason>             Action { type: 'reject', target: reason }
 *   ec_discard / ec_keep           Action { type: 'discard' } / { type: 'keep', target: 'INBOX' }
 *   ec_redirect <address>          Action { type: 'redirect', target: address }
 *
 * ec_action and ec_disconnect decide the reply, so they end the script (as
 * `stop` does): a later command cannot take back a reply already chosen.
 * A 4xx/5xx ec_action and every ec_disconnect cancel the implicit keep; a
 * 2xx/3xx ec_action does not (the message is still accepted). The aliases
 * are the standard commands under Momentum's names, with their rules
 * (reject conflicts with keep/redirect, RFC 5429 2.1), and do not end the run.
 */
import { discardCommand, keepCommand, redirectCommand } from '../extensions/core-actions.js';
import type { Bound } from '../registry.js';
import { StopSignal, type Runtime } from '../runtime/runtime.js';
import { argNumber, argString, type SieveFunction } from './functions.js';

/** Default bound on ec_tarpit (SieveHost.maxTarpitSeconds overrides): a client is waiting. */
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

function replyCode(b: Bound, rt: Runtime, name: string, min: number): number {
  const code = argNumber(b, rt, 0, name);
  if (code < min || code > 599) rt.fail(`${name}: ${code} is not an SMTP reply code (${min}-599)`, b.node.pos);
  return code;
}

const reply = (name: 'ec_action' | 'ec_disconnect', min: number): SieveFunction => ({
  name,
  uses: { command: true },
  params: [
    { name: 'code', type: 'number' },
    { name: 'reason', type: 'string' },
  ],
  validate(b, v) {
    const a = b.args[0]!;
    if (a.kind === 'number' && (a.value < min || a.value > 599)) v.error(a.node.pos, `${name}: ${a.value} is not an SMTP reply code (${min}-599)`);
  },
  call(b, rt) {
    const code = replyCode(b, rt, name, min);
    const text = replyText(argString(b, rt, 1)!);
    rt.addAction({ type: name, pos: b.node.pos, data: { code, text } }, name === 'ec_disconnect' || code >= 400);
    throw StopSignal.instance;
  },
});

const tarpit: SieveFunction = {
  name: 'ec_tarpit',
  uses: { command: true },
  params: [{ name: 'seconds', type: 'number' }],
  call(b, rt) {
    const max = rt.host.maxTarpitSeconds ?? DEFAULT_MAX_TARPIT_SECONDS;
    let seconds = argNumber(b, rt, 0, 'ec_tarpit');
    if (seconds > max) {
      rt.warn(`ec_tarpit: ${seconds} seconds is over the limit, delaying ${max}`, b.node.pos);
      seconds = max;
    }
    rt.addAction({ type: 'ec_tarpit', pos: b.node.pos, data: { seconds } }, false);
  },
};

const ecReject: SieveFunction = {
  name: 'ec_reject',
  uses: { command: true },
  params: [{ name: 'reason', type: 'string' }],
  call: (b, rt) => rt.addAction({ type: 'reject', pos: b.node.pos, target: argString(b, rt, 0)! }, true),
};

const alias = (name: string, def: typeof keepCommand, params: SieveFunction['params']): SieveFunction => ({
  name,
  uses: { command: true },
  params,
  validate: def.validate ? (b, v) => def.validate!(b, v) : undefined,
  call: (b, rt) => def.execute!(b, rt),
});

export const sieveppActions: SieveFunction[] = [
  reply('ec_action', 200),
  reply('ec_disconnect', 400),
  tarpit,
  ecReject,
  alias('ec_discard', discardCommand, []),
  alias('ec_keep', keepCommand, []),
  alias('ec_redirect', redirectCommand, [{ name: 'address', type: 'string' }]),
];
