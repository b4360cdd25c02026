/**
 * A phase's scripts run by the policy directly: answered at once when
 * every script finished at once, through a promise from the first that
 * did not, with the same verdict either way.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { CbvVerifier } from '../../src/cbv/sieve-function.js';
import type { Verdict } from '../../src/cbv/types.js';
import { policyCompileOptions } from '../../src/policy/compile-options.js';
import { functionServices } from '../../src/policy/functions.js';
import { NOTHING_DECIDED } from '../../src/session/decide.js';
import { type PhaseScripts, type PolicyServices, SievePolicy } from '../../src/session/policy.js';
import { ConnectionState, Transaction } from '../../src/session/state.js';
import { compileSieve } from '../../src/sievepp/compile.js';

function scripts(phase1: string, phase2: string): PhaseScripts {
  const out: PhaseScripts = {};
  for (const [slot, text] of [['phase1', phase1], ['phase2', phase2]] as const) {
    const file = `mailfrom_${slot}.siv`;
    const r = compileSieve(text, { file, ...policyCompileOptions(file, { phase: 'mailfrom' }) });
    if (!r.script) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    out[slot] = r.script;
  }
  return out;
}

const connection = new ConnectionState({ id: 'c1', remoteAddress: '192.0.2.1', remotePort: 1234, localAddress: '127.0.0.1', localPort: 25, tls: false, hostname: 'mx.test', banner: 'x' });
const input = () => ({ phase: 'mailfrom' as const, connection, transaction: new Transaction('alice@sender.test', 'c1.1') });
const stub: CbvVerifier = { verify: async () => ({ status: 'fail', message: '550 no such user' }) as Verdict };
const services: PolicyServices = { logger: pino({ level: 'silent' }), counters: new Map(), functionServices: functionServices(stub) };

const TARPIT = 'ec_tarpit 1;';
const REFUSE = 'ec_action 550 "5.7.1 not from you";';
const ASKS = 'require "variables"; ($s, $m) = smtp_callback_verify "alice@sender.test"; if string :is "${s}" "fail" { ec_action 550 "5.1.0 ${m}"; }';

describe('SievePolicy.run', () => {
  it('answers at once when every script of the phase finished at once, and takes both scripts into the verdict', () => {
    const policy = new SievePolicy({ scripts: { mailfrom: scripts(TARPIT, REFUSE) }, runtimeError: 'fail' });
    const verdict = policy.run(input(), services);
    expect(verdict).not.toBeInstanceOf(Promise);
    expect(verdict).toMatchObject({ failed: false, decision: { tarpitMs: 1000, final: true, reply: { code: 550, text: 'not from you' } } });
  });

  it('goes on through a promise from a script that waits, and the next script still runs', async () => {
    const policy = new SievePolicy({ scripts: { mailfrom: scripts('require "variables"; ($s) = smtp_callback_verify "a@b.test";', REFUSE) }, runtimeError: 'fail' });
    const verdict = policy.run(input(), services);
    expect(verdict).toBeInstanceOf(Promise);
    expect(await verdict).toMatchObject({ failed: false, decision: { final: true, reply: { code: 550, text: 'not from you' } } });
  });

  it('with a waiting script first or second, decides as the scripts run in order', async () => {
    const first = await new SievePolicy({ scripts: { mailfrom: scripts(ASKS, TARPIT) }, runtimeError: 'fail' }).run(input(), services);
    const second = await new SievePolicy({ scripts: { mailfrom: scripts(TARPIT, ASKS) }, runtimeError: 'fail' }).run(input(), services);
    // The first refuses and is final: the tarpit after it does not run; the second adds both.
    expect(first.decision).toMatchObject({ reply: { code: 550, text: '550 no such user' }, tarpitMs: 0, final: true });
    expect(second.decision).toMatchObject({ reply: { code: 550, text: '550 no such user' }, tarpitMs: 1000, final: true });
  });

  it('shares NOTHING_DECIDED when no script took an action', () => {
    const policy = new SievePolicy({ scripts: { mailfrom: scripts('if false { stop; }', 'if false { stop; }') }, runtimeError: 'fail' });
    expect(policy.run(input(), services)).toEqual({ decision: NOTHING_DECIDED, failed: false });
    expect((policy.run(input(), services) as { decision: unknown }).decision).toBe(NOTHING_DECIDED);
  });
});
