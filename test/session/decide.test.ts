import { describe, expect, it } from 'vitest';
import { decide } from '../../src/session/decide.js';
import { replyFrom } from '../../src/session/reply.js';
import type { Action } from '../../src/sieve/runtime/result.js';

const at = { line: 1, column: 1, offset: 0 };
const a = (type: string, extra: Partial<Action> = {}): Action => ({ def: { type, cancelsImplicitKeep: () => false, describe: () => type }, type, pos: at, ...extra });

describe('actions at SMTP time', () => {
  it('reject is 550 5.7.1 with the reason; at connect 554 and close', () => {
    expect(decide('mailfrom', [a('reject', { target: 'no thanks' })], false)).toMatchObject({ reply: { code: 550, enhanced: '5.7.1', text: 'no thanks' }, disconnect: false, final: true });
    expect(decide('connect', [a('ereject', { target: 'go away' })], false)).toMatchObject({ reply: { code: 554, enhanced: '5.7.1', text: 'go away' }, disconnect: true });
  });

  it('ec_action replies with any code, keeping an enhanced code given in the text', () => {
    expect(decide('rcptto', [a('ec_action', { data: { code: 451, text: '4.7.1 greylisted, try later' } })], true).reply).toEqual({ code: 451, enhanced: '4.7.1', text: 'greylisted, try later' });
    expect(decide('rcptto', [a('ec_action', { data: { code: 550, text: 'line one\r\nline two' } })], true).reply).toEqual({ code: 550, enhanced: '5.0.0', text: 'line one\nline two' });
  });

  it('ec_disconnect replies then closes; ec_tarpit adds a delay and decides nothing', () => {
    expect(decide('ehlo', [a('ec_disconnect', { data: { code: 421, text: 'bye' } })], true)).toMatchObject({ reply: { code: 421, text: 'bye' }, disconnect: true, final: true });
    const t = decide('mailfrom', [a('ec_tarpit', { data: { seconds: 2 } }), a('ec_tarpit', { data: { seconds: 1 } })], true);
    expect(t).toMatchObject({ tarpitMs: 3000, final: false });
  });

  it('keep, fileinto and redirect choose where the message goes; :copy leaves the implicit keep to the interpreter', () => {
    const d = decide('data', [a('keep', { target: 'INBOX' }), a('store', { target: 'Lists' }), a('redirect', { target: 'x@y.test', copy: true })], false);
    expect(d).toMatchObject({ folders: ['INBOX', 'Lists'], redirects: ['x@y.test'], implicitKeep: false, final: true });
    expect(decide('data', [a('redirect', { target: 'x@y.test', copy: true })], true)).toMatchObject({ folders: [], implicitKeep: true });
  });

  it('discard accepts and delivers nothing; vacation and flags change nothing at SMTP time', () => {
    const d = decide('data', [a('discard')], false);
    expect(d).toMatchObject({ implicitKeep: false, folders: [], redirects: [], final: true });
    expect(d.reply).toBeUndefined();
    expect(decide('data', [a('vacation'), a('addflag')], true)).toMatchObject({ final: false, folders: [], implicitKeep: true });
  });

  it('the first reply wins when a script takes several', () => {
    expect(decide('mailfrom', [a('reject', { target: 'first' }), a('ec_action', { data: { code: 451, text: 'second' } })], false).reply?.text).toBe('first');
  });

  it('replyFrom gives a sensible text when a script gives none', () => {
    expect(replyFrom(550, '')).toEqual({ code: 550, enhanced: '5.0.0', text: 'Rejected by policy' });
    expect(replyFrom(451, '', '4.7.1')).toEqual({ code: 451, enhanced: '4.7.1', text: 'Temporarily rejected by policy, try again later' });
  });
});
