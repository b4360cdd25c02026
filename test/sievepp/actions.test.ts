/**
 * The Sieve++ actions and the exact shapes the SMTP server maps to replies
 * (src/sievepp/builtin-actions.ts has the contract).
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/session/decide.js';
import { compileErrors, runPP } from './helpers.js';

const shapes = async (script: string, o = {}) => {
  const r = await runPP(script, o);
  return { actions: r.actions.map(({ def: _def, pos: _pos, message: _seen, ...a }) => a), keep: r.implicitKeep, errors: r.errors.map((e) => e.message), warnings: r.warnings.map((w) => w.message) };
};

describe('ec_action and ec_disconnect', () => {
  it('record the reply and end the script', async () => {
    expect(await shapes('ec_action 550 "5.7.1 go away"; ec_log "not reached"; keep;')).toEqual({
      actions: [{ type: 'ec_action', data: { code: 550, text: '5.7.1 go away' } }],
      keep: false,
      errors: [],
      warnings: [],
    });
    expect((await shapes('ec_disconnect 421 "4.7.0 bye";')).actions).toEqual([{ type: 'ec_disconnect', data: { code: 421, text: '4.7.0 bye' } }]);
  });

  it('keep multi-line text (CRLF normalised, control characters dropped) and a 2xx keeps the implicit keep', async () => {
    const r = await shapes('ec_action 250 text:\nfirst line\r\nsecond\u0007 line\n.\n;');
    expect(r.actions).toEqual([{ type: 'ec_action', data: { code: 250, text: 'first line\nsecond line' } }]);
    expect(r.keep).toBe(true);
  });

  it('accept a code from a variable and refuse a bad one at run time', async () => {
    expect((await shapes('$c = "451"; ec_action $c "later";')).actions[0]!.data).toEqual({ code: 451, text: 'later' });
    expect((await shapes('$c = "55x"; ec_action $c "x";')).errors).toEqual(["ec_action: argument 1 must be a number, not '55x'"]);
    expect((await shapes('$c = "999"; ec_action $c "x";')).errors).toEqual(['ec_action: 999 is not an SMTP reply code (200-599)']);
  });

  it('refuse wrong arguments at compile time, positioned', () => {
    expect(compileErrors('ec_action 700 "x";')).toEqual(['1:11: ec_action: 700 is not an SMTP reply code (200-599)']);
    expect(compileErrors('ec_disconnect 250 "x";')).toEqual(['1:15: ec_disconnect: 250 is not an SMTP reply code (400-599)']);
    expect(compileErrors('ec_action "abc" "x";')).toEqual(["1:11: the ec_action function expects a number as argument 1 (code), but 'abc' was found"]);
    expect(compileErrors('ec_action 550;')).toEqual(['1:1: the ec_action function requires 2 positional argument(s), but 1 is/are specified']);
    expect(compileErrors('if ec_action 550 "x" { keep; }')).toEqual(["1:4: attempted to use command 'ec_action' as test"]);
  });
});

describe('ec_tarpit', () => {
  it('records the delay, clamped to the host bound with a warning', async () => {
    expect((await shapes('ec_tarpit 5;')).actions).toEqual([{ type: 'ec_tarpit', data: { seconds: 5 } }]);
    const r = await shapes('ec_tarpit 600;', { host: { maxTarpitSeconds: 30 } });
    expect(r.actions).toEqual([{ type: 'ec_tarpit', data: { seconds: 30 } }]);
    expect(r.warnings).toEqual(['ec_tarpit: 600 seconds is over the limit, delaying 30']);
    expect((await shapes('ec_tarpit 61;')).actions[0]!.data).toEqual({ seconds: 60 });
  });

  it('refuses a non-number', () => {
    expect(compileErrors('ec_tarpit "soon";')).toEqual(["1:11: the ec_tarpit function expects a number as argument 1 (seconds), but 'soon' was found"]);
    expect(compileErrors('ec_tarpit;')).toEqual(['1:1: the ec_tarpit function requires 1 positional argument(s), but 0 is/are specified']);
  });
});

describe('reject without a reason', () => {
  it('is taken as Momentum\'s syntax page prints it (sieve-syntax-basic.md): an empty reason, which the server answers with its own refusal text', async () => {
    expect(await shapes('reject;')).toEqual({ actions: [{ type: 'reject', target: '' }], keep: false, errors: [], warnings: [] });
    expect(decide('data', (await runPP('reject;')).actions, false).reply).toEqual({ code: 550, enhanced: '5.7.1', text: 'Rejected by policy' });
  });

  it('is still an error in the rfc dialect (RFC 5429 2.2 requires the reason), as is ereject without one in either', () => {
    expect(compileErrors('require "reject"; reject;', { dialect: 'rfc' })).toEqual(['1:19: the reject command requires 1 positional argument(s), but 0 is/are specified']);
    expect(compileErrors('ereject;')).toEqual(['1:1: the ereject command requires 1 positional argument(s), but 0 is/are specified']);
  });
});

describe('the aliases', () => {
  it('are the standard actions under Momentum names', async () => {
    expect((await shapes('ec_reject "5.7.1 no";')).actions).toEqual([{ type: 'reject', target: '5.7.1 no' }]);
    expect((await shapes('ec_discard;')).actions).toEqual([{ type: 'discard' }]);
    expect((await shapes('ec_keep;')).actions).toEqual([{ type: 'keep', target: 'INBOX' }]);
    expect((await shapes('ec_redirect "Carol <carol@example.net>";')).actions).toEqual([{ type: 'redirect', target: 'carol@example.net' }]);
  });

  it('keep the standard rules: reject conflicts with keep, a bad address is refused', async () => {
    expect((await shapes('ec_keep; ec_reject "no";')).errors).toEqual(['reject action conflicts with earlier keep action']);
    expect(compileErrors('ec_redirect "not an address";')).toEqual(["1:13: specified redirect address 'not an address' is invalid"]);
  });
});
