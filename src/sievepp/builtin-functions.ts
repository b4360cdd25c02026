/**
 * Momentum Sieve++ functions that give or change values: the message and
 * connection contexts, logging and counters (host callbacks), lists,
 * headers, the envelope, and DNS (an asynchronous host callback).
 *
 * Header edits are recorded as actions the server applies when it spools
 * the message (there is no editheader extension in the interpreter yet):
 *   ec_header_add <name> <value>     Action { type: 'header_add', data: { name, value } }
 *   ec_header_delete <name> [value]  Action { type: 'header_delete', data: { name, value? } }
 *   ec_header_prefix <name> <text>   Action { type: 'header_prefix', data: { name, value } }
 *   ec_header_postfix <name> <text>  Action { type: 'header_postfix', data: { name, value } }
 * Later header tests in the same run still see the message as received.
 */
import type { ActionDef } from '../sieve/action.js';
import type { Bound, MaybePromise } from '../sieve/registry.js';
import type { Validator } from '../sieve/validate.js';
import { formatAddress, parseEnvelopePath } from '../sieve/runtime/address.js';
import { headerValues } from '../sieve/runtime/message.js';
import { afterDecoding, decodedHeader } from '../sieve/extensions/core-tests.js';
import type { Runtime } from '../sieve/runtime/runtime.js';
import { allPart } from '../sieve/runtime/address-parts.js';
import { argNumber, argString, argValue, keptChars, mapInSlices, type SieveFunction } from './functions.js';
import { hostOf, sessionOf } from './host.js';
import { languageOf } from './layer.js';
import { replyText } from './builtin-actions.js';
import { toStr } from './values.js';

const context = (rt: Runtime, which: 'mess' | 'conn') => (which === 'mess' ? sessionOf(rt).message : sessionOf(rt).connection);

const readOnlyMessage = (key: string) => `context variable '${key}' is set by the server and is read-only to scripts`;

/** A write to a key only the host sets, named by a constant, is refused when the script is compiled. */
function refuseReadOnlyKey(b: Bound, v: Validator): void {
  const a = b.args[0];
  const key = a?.kind === 'string' && typeof a.template === 'string' && !a.source ? a.template : null;
  if (key !== null && languageOf(v)?.readOnlyContextKey?.(key)) v.error(b.args[0]!.node.pos, readOnlyMessage(key));
}

/** The key argument of a write; a computed key that names a read-only variable is a runtime error. */
function writableKey(b: Bound, rt: Runtime): string {
  const key = argString(b, rt, 0)!;
  if (sessionOf(rt).readOnly(key)) rt.fail(readOnlyMessage(key), b.args[0]!.node.pos);
  return key;
}

const contextFunctions = (which: 'mess' | 'conn'): SieveFunction[] => [
  {
    name: `vctx_${which}_get`,
    uses: { value: true },
    params: [{ name: 'key', type: 'string' }],
    call(b, rt) {
      const m = context(rt, which);
      const k = argString(b, rt, 0)!;
      return m.get(k) ?? m.get(k.toLowerCase()) ?? '';
    },
  },
  {
    // Context values are strings (the server's Maps): a list is stored in its string form.
    name: `vctx_${which}_set`,
    uses: { command: true },
    params: [
      { name: 'key', type: 'string' },
      { name: 'value', type: 'any' },
    ],
    validate: refuseReadOnlyKey,
    call(b, rt) {
      context(rt, which).set(writableKey(b, rt), toStr(argValue(b, rt, 1)!));
    },
  },
  {
    name: `vctx_${which}_delete`,
    uses: { command: true },
    params: [{ name: 'key', type: 'string' }],
    validate: refuseReadOnlyKey,
    call(b, rt) {
      context(rt, which).delete(writableKey(b, rt));
    },
  },
];

const ecLog: SieveFunction = {
  name: 'ec_log',
  uses: { command: true },
  params: [{ name: 'message', type: 'string' }],
  call(b, rt) {
    const text = replyText(argString(b, rt, 0)!);
    rt.log.push(text);
    hostOf(rt).log?.('info', text);
  },
};

const incCounter: SieveFunction = {
  name: 'ec_inc_counter',
  uses: { command: true },
  params: [
    { name: 'counter name', type: 'string' },
    { name: 'increment', type: 'number', optional: true },
  ],
  call(b, rt) {
    hostOf(rt).incrementCounter?.(argString(b, rt, 0)!, b.args.length > 1 ? argNumber(b, rt, 1, 'ec_inc_counter') : 1);
  },
};

/** Items a split may produce: a list is bounded like the actions are. */
const MAX_ITEMS = 1024;

/** `split <separator> <string>` (and Momentum's `ec_explode`): the pieces; an empty separator gives the characters. */
const split = (name: string): SieveFunction => ({
  name,
  uses: { value: true },
  params: [
    { name: 'separator', type: 'string' },
    { name: 'string', type: 'string' },
  ],
  call(b, rt) {
    const sep = argString(b, rt, 0)!;
    const s = argString(b, rt, 1)!;
    if (s === '') return [];
    // Only the first MAX_ITEMS pieces are made, not a piece for every character of a 10 MB value.
    if (sep !== '') return s.split(sep, MAX_ITEMS);
    const chars: string[] = [];
    for (const c of s) if (chars.push(c) === MAX_ITEMS) break;
    return chars;
  },
});

/** `join <separator> <list>`: the items of a list (or string list) joined, as far as a variable keeps them. */
const join: SieveFunction = {
  name: 'join',
  uses: { value: true },
  params: [
    { name: 'separator', type: 'string' },
    { name: 'list', type: 'any' },
  ],
  call(b, rt) {
    const v = argValue(b, rt, 1)!;
    const sep = argString(b, rt, 0)!;
    const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : [...v.values()];
    const kept = keptChars(rt);
    let out = '';
    for (let i = 0; i < items.length && out.length <= kept; i++) out += (i > 0 ? sep : '') + toStr(items[i]!);
    return out;
  },
};

const headerGet: SieveFunction = {
  name: 'ec_header_get',
  uses: { value: true },
  needsMessage: true,
  params: [{ name: 'header name', type: 'string' }],
  // Every value of the field, RFC 2047-decoded and trimmed as the header test sees them (RFC 5228 5.7);
  // a section of 200,000 such fields is decoded in slices, a large value in a worker first (afterDecoding).
  call: (b, rt) => {
    const values = headerValues(rt.requireMessage(b.node.pos), argString(b, rt, 0)!.toLowerCase());
    const all = (): MaybePromise<string[]> => afterDecoding(rt, values, all) ?? mapInSlices(rt, values, (v) => decodedHeader(rt, v), (v) => v.length + 256);
    return all();
  },
};

/** RFC 5322 2.2: a field name is printable US-ASCII except the colon. */
function fieldName(b: Bound, rt: Runtime, fn: string): string {
  const name = argString(b, rt, 0)!;
  if (!/^[!-9;-~]+$/.test(name)) rt.fail(`${fn}: '${name}' is not a header field name`, b.node.pos);
  return name;
}

/** ec_header_add: a header field the server adds when it spools the message. */
export const headerAddAction: ActionDef = {
  type: 'header_add',
  cancelsImplicitKeep: () => false,
  describe: (a) => `header_add ${String(a.data?.name)}: ${String(a.data?.value)}`,
};

/** ec_header_delete: header fields (all of a name, or those with a value) the server removes when it spools. */
export const headerDeleteAction: ActionDef = {
  type: 'header_delete',
  cancelsImplicitKeep: () => false,
  describe: (a) => `header_delete ${String(a.data?.name)}${a.data?.value !== undefined ? ` ${JSON.stringify(a.data.value)}` : ''}`,
};

const headerDelete: SieveFunction = {
  name: 'ec_header_delete',
  uses: { command: true },
  params: [
    { name: 'header name', type: 'string' },
    { name: 'value', type: 'string', optional: true },
  ],
  call(b, rt) {
    const data: Record<string, unknown> = { name: fieldName(b, rt, 'ec_header_delete') };
    if (b.args.length > 1) data.value = argString(b, rt, 1)!;
    rt.take(b, headerDeleteAction, { data });
  },
};

/** ec_header_prefix / ec_header_postfix: text the server puts before or after the first field of a name's value when it spools. */
const headerAffixAction = (type: 'header_prefix' | 'header_postfix'): ActionDef => ({
  type,
  cancelsImplicitKeep: () => false,
  describe: (a) => `${type} ${String(a.data?.name)} ${JSON.stringify(a.data?.value)}`,
});
export const headerPrefixAction = headerAffixAction('header_prefix');
export const headerPostfixAction = headerAffixAction('header_postfix');

/**
 * `<field-name> <text>` as an action for the server: ec_header_add's field
 * (sieve-ref-ec-header-add.md), or the text ec_header_prefix /
 * ec_header_postfix put in the first field of the name, nothing when there
 * is none (sieve-ref-ec-header-prefix.md). The text is one line: a line
 * break would start a field of its own; folding is the server's business
 * (src/session/header-edits.ts).
 */
const headerText = (fn: string, def: ActionDef, text: string): SieveFunction => ({
  name: fn,
  uses: { command: true },
  params: [
    { name: 'header name', type: 'string' },
    { name: text, type: 'string' },
  ],
  call(b, rt) {
    const value = argString(b, rt, 1)!.replace(/[\r\n]+/g, ' ');
    rt.take(b, def, { data: { name: fieldName(b, rt, fn), value } });
  },
});

/** An envelope path without its angle brackets; the null path is "". */
const bare = (path: string): string => {
  const a = parseEnvelopePath(path);
  return a ? formatAddress(a) : a === null ? '' : path;
};

/** `MAIL FROM:<joe@example.com>`, as sieve-ref-ec-get-message-mailfrom.md shows it (`MAIL FROM:<>` for the null sender). */
const mailfrom: SieveFunction = {
  name: 'ec_get_message_mailfrom',
  uses: { value: true },
  params: [],
  call: (_b, rt) => `MAIL FROM:<${bare(rt.envelope.from)}>`,
};

/** `RCPT TO:<bar@bar.com>` for each recipient so far (sieve-ref-ec-get-message-rcptto.md). */
const rcptto: SieveFunction = {
  name: 'ec_get_message_rcptto',
  uses: { value: true },
  params: [],
  call: (_b, rt) => rt.envelope.to.map((to) => `RCPT TO:<${bare(to)}>`),
};

/**
 * `envelope [:localpart|:domain|:all] <part>` as a value (Momentum:
 * `$d = envelope :domain "from";`): "from", "auth" and "orig_to" give a
 * string, "to" a list. The null sender gives "".
 */
const envelopeValue: SieveFunction = {
  name: 'envelope',
  uses: { value: true },
  families: ['address-part'],
  params: [{ name: 'envelope part', type: 'string' }],
  validate(b, v) {
    const a = b.args[0]!;
    if (a.kind === 'string' && typeof a.template === 'string' && !['from', 'to', 'auth', 'orig_to'].includes(a.template.toLowerCase())) {
      v.error(a.node.pos, `specified envelope part '${a.template}' is not supported by the envelope function`);
    }
  },
  call(b, rt) {
    const part = b.addressPart ?? allPart;
    const which = argString(b, rt, 0)!.toLowerCase();
    const e = rt.envelope;
    const extract = (p: string): string => {
      const a = parseEnvelopePath(p);
      return a === null ? '' : a === undefined ? p : part.extract(a, rt) ?? '';
    };
    if (which === 'to') return e.to.map(extract);
    if (which === 'from') return extract(e.from);
    if (which === 'auth') return e.auth ?? '';
    if (which === 'orig_to') return e.origTo !== undefined ? extract(e.origTo) : '';
    return rt.fail(`specified envelope part '${which}' is not supported by the envelope function`, b.node.pos);
  },
};

const DNS_TYPES = new Set(['A', 'AAAA', 'MX', 'TXT', 'PTR', 'NS', 'CNAME']);

/**
 * `ec_dns_lookup <name> [<type>]` (type A by default): the answers as a
 * list, through SieveHost.dnsLookup (src/policy/dns-lookup.ts gives the
 * product's). NXDOMAIN and NODATA give an empty list; a failed lookup
 * (SERVFAIL, timeout) is a runtime error, so that policy tempfails
 * (Momentum's runtime_error = fail) instead of treating "no answer" as "no record".
 */
const dnsLookup: SieveFunction = {
  name: 'ec_dns_lookup',
  uses: { value: true, test: true },
  params: [
    { name: 'name', type: 'string' },
    { name: 'type', type: 'string', optional: true },
  ],
  validate(b, v) {
    const t = b.args[1];
    if (t?.kind === 'string' && typeof t.template === 'string' && !DNS_TYPES.has(t.template.toUpperCase())) {
      v.error(t.node.pos, `ec_dns_lookup: unsupported record type '${t.template}' (${[...DNS_TYPES].join(', ')})`);
    }
  },
  async call(b, rt) {
    const name = argString(b, rt, 0)!;
    const type = (b.args.length > 1 ? argString(b, rt, 1)! : 'A').toUpperCase();
    if (!DNS_TYPES.has(type)) return rt.fail(`ec_dns_lookup: unsupported record type '${type}'`, b.node.pos);
    const host = hostOf(rt);
    if (!host.dnsLookup) return rt.fail('ec_dns_lookup: this host offers no DNS look-ups', b.node.pos);
    try {
      return await host.dnsLookup(name, type);
    } catch (e) {
      return rt.fail(`ec_dns_lookup: ${type} ${name} failed (${(e as Error).message})`, b.node.pos);
    }
  },
};

export const sieveppValueFunctions: SieveFunction[] = [
  ...contextFunctions('mess'),
  ...contextFunctions('conn'),
  ecLog,
  incCounter,
  split('split'),
  split('ec_explode'),
  join,
  headerGet,
  headerText('ec_header_add', headerAddAction, 'value'),
  headerDelete,
  headerText('ec_header_prefix', headerPrefixAction, 'text'),
  headerText('ec_header_postfix', headerPostfixAction, 'text'),
  mailfrom,
  rcptto,
  envelopeValue,
  dnsLookup,
];
