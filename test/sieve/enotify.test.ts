/**
 * RFC 5435 enotify with the mailto method (RFC 5436): what the action
 * records, what the compiler refuses, and the notification messages a
 * host sends for a run (notify-out.ts).
 */
import { describe, expect, it } from 'vitest';
import { composeNotifications } from '../../src/sieve/notify-out.js';
import { decodedHeaderValue, parseMessage } from '../../src/sieve/runtime/message.js';
import { errorsOf, MESSAGE, resultVar, run } from './helpers.js';

const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };
const host = { setting: () => undefined, postmaster: 'postmaster@mx.example.org' };

async function notifications(script: string, message = MESSAGE, env = envelope, opts = host) {
  const r = await run(`require ["enotify", "variables"]; ${script}`, { message, envelope: env });
  expect(r.errors).toEqual([]);
  return composeNotifications(r.actions.filter((a) => a.type === 'notify').map((a) => a.data ?? {}), parseMessage(message), env, opts);
}

const field = (text: string, name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(text)?.[1];

describe('notify (RFC 5435 3)', () => {
  it('records the method and its options, and keeps the implicit keep', async () => {
    const r = await run('require "enotify"; notify :from "me@example.org" :importance "1" :options ["a=b"] :message "hi" "mailto:ops@example.net";');
    expect(r.errors).toEqual([]);
    expect(r.implicitKeep).toBe(true);
    expect(r.actions.map((a) => [a.type, a.data])).toEqual([['notify', { method: 'mailto:ops@example.net', importance: '1', options: ['a=b'], from: 'me@example.org', message: 'hi' }]]);
  });

  it('refuses unknown methods, bad mailto URIs, a bad :from, :importance or option at compile time, one error each', () => {
    expect(errorsOf('require "enotify"; notify "xmpp:ops@example.net";')[0]).toMatch(/unsupported notify method/);
    expect(errorsOf('require "enotify"; notify "mailto:ops%23example.net";')[0]).toMatch(/invalid mailto URI/);
    expect(errorsOf('require "enotify"; notify "mailto:ops@example.net?From%0D%0A=x";')[0]).toMatch(/invalid header name/);
    expect(errorsOf('require "enotify"; notify :from "nobody" "mailto:ops@example.net";')[0]).toMatch(/invalid :from address/);
    expect(errorsOf('require "enotify"; notify :importance "4" "mailto:ops@example.net";')[0]).toMatch(/importance '4'/);
    expect(errorsOf('require "enotify"; notify :options "x=a\nb" "mailto:ops@example.net";')[0]).toMatch(/line break/);
  });

  it('fails at run time for a URI built from variables that is not valid', async () => {
    const r = await run('require ["enotify", "variables"]; set "u" "snailto:x@example.net"; notify "${u}";');
    expect(r.errors.map((e) => e.message)).toEqual([expect.stringMatching(/unsupported notify method 'snailto:x@example.net'/)]);
  });

  it('limits notify actions per run (sieve_notify_max_notifications)', async () => {
    const script = 'require "enotify"; notify "mailto:a@example.net"; notify "mailto:b@example.net";';
    const limited = await run(script, { host: { setting: (n) => (n === 'sieve_notify_max_notifications' ? '1' : undefined) } });
    expect(limited.errors.map((e) => e.message)).toEqual(['number of notify actions exceeds policy limit']);
    expect(errorsOf(script, { setting: (n) => (n === 'sieve_notify_max_notifications' ? '0' : undefined) })[0]).toMatch(/local policy prohibits/);
  });
});

describe('valid_notify_method and notify_method_capability (RFC 5435 4-5, RFC 5436 2.2)', () => {
  it('accepts mailto only, and answers "maybe" for "online"', async () => {
    const script = `require ["enotify", "variables"];
      set "r" "";
      if valid_notify_method ["mailto:a@example.net", "mailto:?to=b@example.net"] { set "r" "\${r}1"; }
      if valid_notify_method ["mailto:a@example.net", "tel:+1555"] { set "r" "\${r}2"; }
      if notify_method_capability "mailto:a@example.net" "Online" "maybe" { set "r" "\${r}3"; }
      if notify_method_capability "mailto:a@example.net" "frop" "maybe" { set "r" "\${r}4"; }
      if notify_method_capability "tel:+1555" "online" "maybe" { set "r" "\${r}5"; }`;
    expect(await resultVar(script)).toBe('13');
  });
});

describe(':encodeurl (RFC 5435 6)', () => {
  it('percent-encodes all but unreserved characters, as UTF-8, and applies before :length', async () => {
    expect(await resultVar('require ["enotify", "variables"]; set :encodeurl "r" "a b&c=d/é~";')).toBe('a%20b%26c%3Dd%2F%C3%A9~');
    expect(await resultVar('require ["enotify", "variables"]; set :encodeurl :length "r" "é";')).toBe('6');
  });

  it('never leaves half an escape when the size limit cuts the value', async () => {
    const v = await resultVar('require ["enotify", "variables"]; set :encodeurl "r" "aé";', { host: { setting: (n) => (n === 'sieve_variables_max_variable_size' ? '6' : undefined) } });
    expect(v).toBe('a');
  });
});

describe('the notification messages (RFC 5436)', () => {
  it('sends one message per recipient, with Auto-Submitted: auto-notified and the importance as X-Priority', async () => {
    const out = await notifications('notify :importance "1" :message "Mail from ${1}" "mailto:ops@example.net?cc=boss@example.net";');
    expect(out.map((m) => m.envelope)).toEqual([
      { from: 'postmaster@mx.example.org', to: ['ops@example.net'] },
      { from: 'postmaster@mx.example.org', to: ['boss@example.net'] },
    ]);
    const text = out[0]!.text;
    expect(out[1]!.text).toBe(text);
    expect(field(text, 'Auto-Submitted')).toBe('auto-notified; owner-email="alice@example.org"');
    expect([field(text, 'To'), field(text, 'Cc'), field(text, 'From')]).toEqual(['ops@example.net', 'boss@example.net', '<alice@example.org>']);
    expect([field(text, 'X-Priority'), field(text, 'Importance')]).toEqual(['1 (Highest)', 'high']);
  });

  it('never notifies about a message that is itself automatic (RFC 5436: no loops)', async () => {
    const automatic = `Auto-Submitted: auto-notified\n${MESSAGE}`;
    expect(await notifications('notify "mailto:ops@example.net";', automatic)).toEqual([]);
    const human = `Auto-Submitted: no\n${MESSAGE}`;
    expect(await notifications('notify "mailto:ops@example.net";', human)).toHaveLength(1);
  });

  it('takes subject, body and safe fields from the URI, ignores fields that would forge origin or MIME', async () => {
    const [m] = await notifications('notify "mailto:ops@example.net?subject=Alert%20%C3%A9&body=Line%201%0D%0ALine%202&X-Tag=42&From=evil@example.com&Received=x&Content-Type=text/html&Auto-Submitted=no";');
    const text = m!.text;
    expect(decodedHeaderValue(field(text, 'Subject')!)).toBe('Alert é');
    expect(field(text, 'X-Tag')).toBe('42');
    expect(field(text, 'From')).toBe('<alice@example.org>');
    expect(text).not.toMatch(/evil|Received|text\/html|Auto-Submitted: no/);
    expect(text.endsWith('\r\n\r\nLine 1\r\nLine 2\r\n')).toBe(true);
  });

  it(':message overrides the URI subject, and a long one is cut at 256 characters with an ellipsis', async () => {
    const [a] = await notifications('notify :message "Short" "mailto:ops@example.net?subject=URI";');
    expect(field(a!.text, 'Subject')).toBe('Short');
    const long = 'x'.repeat(300);
    const [b] = await notifications(`notify :message "${long}" "mailto:ops@example.net";`);
    const subject = decodedHeaderValue(parseMessage(b!.text).headers.find((h) => h.lname === 'subject')!.value);
    expect(subject).toBe(`${'x'.repeat(255)}\u2026`);
  });

  it('notifies a recipient once per run, across actions', async () => {
    const out = await notifications('notify "mailto:a@example.net?cc=a@example.net"; notify "mailto:b@example.net?cc=a@example.net";');
    expect(out.map((m) => m.envelope.to[0])).toEqual(['a@example.net', 'b@example.net']);
    expect(field(out[1]!.text, 'Cc')).toBeUndefined();
  });

  it('keeps the null sender of a message from the null sender, and follows the envelope-from setting', async () => {
    const nullSender = await notifications('notify :from "me@example.org" "mailto:ops@example.net";', MESSAGE, { from: '<>', to: ['alice@example.org'] });
    expect(nullSender[0]!.envelope.from).toBe('');
    const viaFrom = await notifications('notify :from "me@example.org" "mailto:ops@example.net";');
    expect(viaFrom[0]!.envelope.from).toBe('me@example.org');
    const server = await notifications('notify :from "me@example.org" "mailto:ops@example.net";', MESSAGE, envelope, { ...host, setting: (n: string) => (n === 'sieve_notify_mailto_envelope_from' ? '<>' : undefined) } as never);
    expect(server[0]!.envelope.from).toBe('');
  });
});
