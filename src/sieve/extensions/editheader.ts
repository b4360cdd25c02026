/**
 * RFC 5293: addheader and deleteheader. Edits make a new message (the
 * actions taken before keep the message they saw, section 4); Received and
 * Auto-Submitted are protected and silently left alone (section 6,
 * Pigeonhole's default). Values are folded to keep lines short and
 * RFC 2047-encoded when not ASCII (section 4).
 */
import libmime from 'libmime';
import { matchTest } from '../interpreter.js';
import type { Bound, Extension } from '../registry.js';
import { decodedHeaderValue, type HeaderField, withHeaders } from '../runtime/message.js';
import type { Runtime } from '../runtime/runtime.js';
import { constantString, type Validator } from '../validate.js';
import { INDEX_TAGS } from './index-ext.js';

const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
const PROTECTED = new Set(['received', 'auto-submitted']);
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

const nameError = (name: string) => `specified field name '${name}' is invalid`;
const valueError = (value: string) => `specified value '${value.replace(/[\x00-\x1f]/g, '?')}' is invalid`;

function checkConstants(b: Bound, v: Validator, valueIndex: number | null): void {
  const name = constantString(b.args[0]);
  if (name !== null && !FIELD_NAME.test(name)) v.error(b.args[0]!.node.pos, nameError(name));
  const value = valueIndex === null ? null : constantString(b.args[valueIndex]);
  if (value !== null && BAD_VALUE.test(value)) v.error(b.args[valueIndex!]!.node.pos, valueError(value));
}

/** RFC 5322 2.2.3: a newline in the value continues the field; long values are folded at spaces. */
function fieldText(name: string, value: string): string {
  const encoded = /^[\x09\x0a\x0d\x20-\x7e]*$/.test(value) ? value : libmime.encodeWords(value, 'Q', 52, 'utf-8');
  const joined = encoded.replace(/\r?\n([ \t]*)/g, (_m, ws: string) => `\r\n${ws || ' '}`);
  const out: string[] = [];
  for (const line of `${name}: ${joined}`.split('\r\n')) {
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

function edit(rt: Runtime, headers: HeaderField[]): void {
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
        if (PROTECTED.has(name.toLowerCase())) return;
        const raw = fieldText(name, value);
        const field: HeaderField = { name, lname: name.toLowerCase(), raw, value: raw.slice(name.length + 1).replace(/\r\n/g, '') };
        // RFC 5293 4: at the top by default, at the end with :last.
        edit(rt, b.tags.has('last') ? [...msg.headers, field] : [field, ...msg.headers]);
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
        if (PROTECTED.has(lname)) return;
        // The optional argument is the last one here (the value patterns).
        const patterns = b.args.length === 2 ? rt.list(b.args[1]!) : null;
        const positions = msg.headers.map((h, i) => (h.lname === lname ? i : -1)).filter((i) => i >= 0);
        const index = b.tags.get('index')?.args[0];
        let selected = positions;
        if (index?.kind === 'number') {
          const i = b.tags.has('last') ? positions.length - index.value : index.value - 1;
          selected = positions[i] === undefined ? [] : [positions[i]!];
        }
        const drop = new Set(selected.filter((i) => patterns === null || matchTest(b, rt, [decodedHeaderValue(msg.headers[i]!.value)], patterns, false)));
        if (drop.size) edit(rt, msg.headers.filter((_h, i) => !drop.has(i)));
      },
    },
  ],
};
