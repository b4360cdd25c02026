/**
 * RFC 5293: addheader and deleteheader. Edits make a new message (the
 * actions taken before keep the message they saw, section 4); protected
 * fields are silently left alone (section 6, see allowed()). Values are folded to keep lines short and
 * RFC 2047-encoded when not ASCII (section 4).
 */
import { encodedWords } from '../runtime/rfc2047.js';
import { matchTestNow } from '../interpreter.js';
import type { Bound, Extension } from '../registry.js';
import { afterLoad, type HeaderField, withHeaders } from '../runtime/message.js';
import { afterDecoding, decodedHeader } from './core-tests.js';
import type { Runtime } from '../runtime/runtime.js';
import { constantString, type Validator } from '../validate.js';
import { INDEX_TAGS } from './index-ext.js';

const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
/** Pigeonhole's sieve_editheader_max_header_size default (EXT_EDITHEADER_DEFAULT_MAX_HEADER_SIZE). */
const DEFAULT_MAX_VALUE = 2048;

type Setting = ((name: string) => string | undefined) | undefined;

/**
 * Which fields may be added or deleted (RFC 5293 6 and Pigeonhole's rules):
 * Received and Auto-Submitted are never deleted, X-Sieve-Redirected-From
 * never touched, Subject always editable, and the host may forbid others
 * (sieve_editheader_header = "id ...", with id/name, id/forbid_add,
 * id/forbid_delete).
 */
function allowed(op: 'add' | 'delete', name: string, setting: Setting): boolean {
  const l = name.toLowerCase();
  if (l === 'x-sieve-redirected-from') return false;
  if (op === 'delete' && (l === 'received' || l === 'auto-submitted')) return false;
  if (l === 'subject') return true;
  for (const id of (setting?.('sieve_editheader_header') ?? '').split(/\s+/).filter(Boolean)) {
    const configured = setting?.(`sieve_editheader_header/${id}/name`) ?? id;
    if (configured.toLowerCase() !== l) continue;
    return !/^(yes|true|1)$/i.test(setting?.(`sieve_editheader_header/${id}/forbid_${op}`) ?? 'no');
  }
  return true;
}

const maxValue = (setting: Setting) => Number(setting?.('sieve_editheader_max_header_size') ?? DEFAULT_MAX_VALUE);
const tooLarge = (value: string) => `specified header value '${value.slice(0, 80)}' is too large (${Buffer.byteLength(value)} bytes)`;
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

const nameError = (name: string) => `specified field name '${name}' is invalid`;
const valueError = (value: string) => `specified value '${value.replace(/[\x00-\x1f]/g, '?')}' is invalid`;

function checkConstants(b: Bound, v: Validator, valueIndex: number | null): void {
  const name = constantString(b.args[0]);
  if (name !== null && !FIELD_NAME.test(name)) v.error(b.args[0]!.node.pos, nameError(name));
  const value = valueIndex === null ? null : constantString(b.args[valueIndex]);
  if (value !== null && BAD_VALUE.test(value)) v.error(b.args[valueIndex!]!.node.pos, valueError(value));
  else if (value !== null && Buffer.byteLength(value) > maxValue(v.options.setting)) v.error(b.args[valueIndex!]!.node.pos, `addheader command: ${tooLarge(value)}`);
}

/** RFC 5322 2.2.3: a newline in the value continues the field; long values are folded at spaces. */
export function fieldText(name: string, value: string): string {
  const encoded = /^[\x09\x0a\x0d\x20-\x7e]*$/.test(value) ? value : encodedWords(value);
  const joined = encoded.replace(/\r?\n([ \t]*)/g, (_m, ws: string) => `\r\n${ws || ' '}`);
  return foldField(`${name}: ${joined}`);
}

/** A header field (its lines joined by CRLF) with every line past 78 characters folded at a space where it has one (RFC 5322 2.1.1, 2.2.3). */
export function foldField(field: string): string {
  const out: string[] = [];
  for (const line of field.split('\r\n')) {
    let rest = line;
    while (rest.length > 78) {
      const cut = rest.lastIndexOf(' ', 76);
      if (cut <= 0) break;
      out.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    out.push(rest);
  }
  return out.join('\r\n');
}

/** The message with these header fields: its body goes with them, so a spooled message is loaded first (on the thread pool, not the event loop). */
function edit(rt: Runtime, headers: HeaderField[]): void | Promise<void> {
  const later = afterLoad(rt.message!.load?.(), rt.budget, () => edit(rt, headers));
  if (later) return later;
  rt.message = withHeaders(rt.message!, headers);
  rt.forget();
}

export const editheader: Extension = {
  capability: 'editheader',
  commands: [
    {
      name: 'addheader',
      kind: 'command',
      tags: [{ name: 'last' }],
      positional: [
        { name: 'field name', type: 'string' },
        { name: 'value', type: 'string' },
      ],
      needsMessage: true,
      validate: (b, v) => checkConstants(b, v, 1),
      execute(b, rt) {
        const msg = rt.requireMessage(b.node.pos);
        const name = rt.string(b.args[0]!);
        const value = rt.string(b.args[1]!);
        if (!FIELD_NAME.test(name)) rt.fail(`addheader: ${nameError(name)}`, b.node.pos);
        if (BAD_VALUE.test(value)) rt.fail(`addheader: ${valueError(value)}`, b.node.pos);
        if (Buffer.byteLength(value) > maxValue((n: string) => rt.setting(n))) rt.fail(`addheader action: ${tooLarge(value)}`, b.node.pos);
        if (!allowed('add', name, (n: string) => rt.setting(n))) return;
        const raw = fieldText(name, value);
        const field: HeaderField = { name, lname: name.toLowerCase(), raw, value: raw.slice(name.length + 1).replace(/\r\n/g, '') };
        // RFC 5293 4: at the top by default, at the end with :last.
        return edit(rt, b.tags.has('last') ? [...msg.headers, field] : [field, ...msg.headers]);
      },
    },
    {
      name: 'deleteheader',
      kind: 'command',
      tags: INDEX_TAGS,
      families: ['comparator', 'match-type'],
      positional: [
        { name: 'field name', type: 'string' },
        { name: 'value patterns', type: 'stringlist', optional: true },
      ],
      needsMessage: true,
      validate: (b, v) => checkConstants(b, v, null),
      execute(b, rt) {
        const msg = rt.requireMessage(b.node.pos);
        const name = rt.string(b.args[0]!);
        if (!FIELD_NAME.test(name)) rt.fail(`deleteheader: ${nameError(name)}`, b.node.pos);
        const lname = name.toLowerCase();
        if (!allowed('delete', lname, (n: string) => rt.setting(n))) return;
        // The optional argument is the last one here (the value patterns).
        const patterns = b.args.length === 2 ? rt.list(b.args[1]!) : null;
        const positions = msg.headers.map((h, i) => (h.lname === lname ? i : -1)).filter((i) => i >= 0);
        const index = b.tags.get('index')?.args[0];
        let selected = positions;
        if (index?.kind === 'number') {
          const i = b.tags.has('last') ? positions.length - index.value : index.value - 1;
          selected = positions[i] === undefined ? [] : [positions[i]!];
        }
        // A large value with encoded-words is decoded in a worker first (core-tests.ts, afterDecoding).
        const decoded = patterns === null ? undefined : afterDecoding(rt, selected.map((i) => msg.headers[i]!.value), () => b.def.execute!(b, rt));
        if (decoded) return decoded;
        const drop = new Set(selected.filter((i) => patterns === null || matchTestNow(b, rt, [decodedHeader(rt, msg.headers[i]!.value)], patterns, false)));
        if (drop.size) return edit(rt, msg.headers.filter((_h, i) => !drop.has(i)));
      },
    },
  ],
};
