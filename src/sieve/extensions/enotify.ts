/**
 * RFC 5435: enotify. The `notify` action, the `valid_notify_method` and
 * `notify_method_capability` tests, and the `:encodeurl` modifier of `set`.
 * The one method offered is mailto (RFC 5436, notify-mailto.ts); any other
 * URI scheme is not valid_notify_method and a notify with it is an error.
 *
 * The Sieve core sends nothing: the action records the method and its
 * options, and the host composes and sends the notification messages
 * (notify-out.ts) with RFC 5436's loop and header rules.
 *
 * A host limits notify actions per run with the setting
 * sieve_notify_max_notifications (Pigeonhole's name; default 10); 0 forbids
 * them, which is a compile error when the compiler sees the setting and a
 * runtime error otherwise (RFC 5435 8: notifications can be abused).
 */
import type { ActionDef } from '../action.js';
import { matchTest } from '../interpreter.js';
import type { Bound, Extension } from '../registry.js';
import type { Runtime } from '../runtime/runtime.js';
import { percentEncode, trimEncoded } from '../runtime/uri-encoding.js';
import { constantString, type Validator } from '../validate.js';
import { mailtoMethod, type NotifyMethod } from './notify-mailto.js';

const METHODS: readonly NotifyMethod[] = [mailtoMethod];
const DEFAULT_MAX_NOTIFICATIONS = 10;

/** RFC 3986 3.1: the scheme, the part before the first ":". */
function methodOf(uri: string): NotifyMethod | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  return METHODS.find((m) => m.scheme === scheme);
}

/** Why a notification URI cannot be used, or null when it can (RFC 5435 3.1). */
export function notifyUriError(uri: string): string | null {
  const m = methodOf(uri);
  if (!m) return `invalid or unsupported notify method '${uri}'`;
  return m.checkUri(uri);
}

/** RFC 5435 3.3: importance is "1" (high), "2" (normal) or "3" (low). */
const IMPORTANCE = /^[123]$/;

/** RFC 5435 3.4: an option is "name=value", the name starting with a letter or digit, the value on one line. */
function optionError(option: string): string | null {
  const m = /^([^=]*)=(.*)$/s.exec(option);
  if (!m) return `option '${option}' is not name=value`;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(m[1]!)) return `invalid option name '${m[1]}'`;
  if (/[\r\n]/.test(m[2]!)) return `value of option '${m[1]}' holds a line break`;
  return null;
}

function maxNotifications(setting: ((n: string) => string | undefined) | undefined): number {
  const v = Number(setting?.('sieve_notify_max_notifications') ?? DEFAULT_MAX_NOTIFICATIONS);
  return Number.isInteger(v) && v >= 0 ? v : DEFAULT_MAX_NOTIFICATIONS;
}

const PROHIBITED = 'local policy prohibits the use of a notify action';

/** Compile-time checks of what is constant; one error per command, as Pigeonhole counts them. */
function validateNotify(b: Bound, v: Validator): void {
  const at = b.node.pos;
  if (maxNotifications(v.options.setting) === 0) return v.error(at, `notify action: ${PROHIBITED}`);
  const uri = constantString(b.args[0]);
  const method = uri === null ? undefined : methodOf(uri);
  if (uri !== null) {
    const err = notifyUriError(uri);
    if (err) return v.error(b.args[0]!.node.pos, `notify action: ${err}`);
  }
  const from = b.tags.get('from')?.args[0];
  const f = from ? constantString(from) : null;
  if (f !== null && method) {
    const err = method.checkFrom(f);
    if (err) return v.error(from!.node.pos, `notify action: ${err}`);
  }
  const imp = b.tags.get('importance')?.args[0];
  const i = imp ? constantString(imp) : null;
  if (i !== null && !IMPORTANCE.test(i)) return v.error(imp!.node.pos, `notify action: importance '${i}' is not "1", "2" or "3"`);
  const opts = b.tags.get('options')?.args[0];
  if (opts?.kind === 'stringlist' && opts.constant) {
    for (const o of opts.constant) {
      const err = optionError(o);
      if (err) return v.error(opts.node.pos, `notify action: ${err}`);
    }
  } else if (opts) {
    const o = constantString(opts);
    const err = o === null ? null : optionError(o);
    if (err) return v.error(opts.node.pos, `notify action: ${err}`);
  }
}

/** RFC 5435 3: notify never cancels the implicit keep and goes with every other action. */
export const notifyAction: ActionDef = {
  type: 'notify',
  cancelsImplicitKeep: () => false,
  describe: (a) => `notify ${JSON.stringify(a.target ?? '')}`,
};

function executeNotify(b: Bound, rt: Runtime): void {
  const at = b.node.pos;
  const max = maxNotifications((n) => rt.setting(n));
  if (max === 0) rt.fail(`notify action: ${PROHIBITED}`, at);
  const uri = rt.string(b.args[0]!);
  const err = notifyUriError(uri);
  if (err) rt.fail(`notify action: ${err}`, at);
  const str = (tag: string) => {
    const t = b.tags.get(tag)?.args[0];
    return t ? rt.string(t) : undefined;
  };
  const from = str('from');
  if (from !== undefined) {
    const e = methodOf(uri)!.checkFrom(from);
    if (e) rt.fail(`notify action: ${e}`, at);
  }
  const importance = str('importance') ?? '2';
  if (!IMPORTANCE.test(importance)) rt.fail(`notify action: importance '${importance}' is not "1", "2" or "3"`, at);
  const opts = b.tags.get('options')?.args[0];
  const options = opts ? rt.list(opts) : [];
  for (const o of options) {
    const e = optionError(o);
    if (e) rt.fail(`notify action: ${e}`, at);
  }
  if (rt.result.actions.filter((a) => a.def === notifyAction).length >= max) rt.fail('number of notify actions exceeds policy limit', at);
  const message = str('message');
  rt.take(b, notifyAction, {
    target: uri,
    data: { method: uri, importance, options, ...(from !== undefined ? { from } : {}), ...(message !== undefined ? { message } : {}) },
  });
}

export const enotify: Extension = {
  capability: 'enotify',
  commands: [
    {
      name: 'notify',
      kind: 'command',
      tags: [
        { name: 'from', args: [{ name: 'from address', type: 'string' }] },
        { name: 'importance', args: [{ name: 'importance', type: 'string' }] },
        { name: 'options', args: [{ name: 'options', type: 'stringlist' }] },
        { name: 'message', args: [{ name: 'message', type: 'string' }] },
      ],
      positional: [{ name: 'method', type: 'string' }],
      validate: validateNotify,
      execute: executeNotify,
    },
    {
      // RFC 5435 4: true when every URI is one this host could notify with.
      name: 'valid_notify_method',
      kind: 'test',
      positional: [{ name: 'notification uris', type: 'stringlist' }],
      evaluate: (b, rt) => rt.list(b.args[0]!).every((uri) => notifyUriError(uri) === null),
    },
    {
      // RFC 5435 5: the capability's values for a valid URI compared with the keys; false for an invalid URI or an unknown capability.
      name: 'notify_method_capability',
      kind: 'test',
      families: ['comparator', 'match-type'],
      positional: [
        { name: 'notification uri', type: 'string' },
        { name: 'notification capability', type: 'string' },
        { name: 'key list', type: 'stringlist' },
      ],
      evaluate(b, rt) {
        const uri = rt.string(b.args[0]!);
        if (notifyUriError(uri) !== null) return false;
        const values = methodOf(uri)!.capability(uri, rt.string(b.args[1]!).toLowerCase());
        return values === null ? false : matchTest(b, rt, values, rt.list(b.args[2]!));
      },
    },
  ],
  // RFC 5435 6: `set :encodeurl` percent-encodes the value (precedence 15, between the quoting and :length).
  attachTags: [
    {
      commands: ['set'],
      tag: { name: 'encodeurl', group: 'modifier-15', modifier: { precedence: 15, apply: percentEncode, trim: trimEncoded } },
    },
  ],
};
