/**
 * RFC 5703 section 6: enclose. `enclose [:subject <text>] [:headers
 * <fields>] <text>` makes a new message whose body is multipart/mixed: the
 * text as a text/plain part, then the message so far as message/rfc822.
 * It is an action (it does not cancel the implicit keep) and, as
 * editheader does, it changes the message from then on: later tests read
 * the new message, and the keep, fileinto or redirect that follow deliver
 * it. Enclosing again encloses the enclosed message.
 *
 * The new message's Subject is :subject, else the original's; From is the
 * host's postmaster (environment "domain"), Date the host's clock, and
 * the :headers fields ("Name: value") are added, replacing a generated
 * field of the same name.
 */
import { randomBytes } from 'node:crypto';
import type { ActionDef } from '../action.js';
import type { Extension } from '../registry.js';
import { datePart } from '../runtime/datetime.js';
import { headerValues, parseMessage } from '../runtime/message.js';
import type { Runtime } from '../runtime/runtime.js';
import { constantString } from '../validate.js';
import { fieldText } from './editheader.js';

/** RFC 5322 2.2: "name: value", the name printable ASCII without ":"; no bare line breaks in the value. */
const FIELD = /^([\x21-\x39\x3b-\x7e]+):[ \t]*([^\r\n]*)$/;

export function parseHeaderField(text: string): { name: string; value: string } | null {
  const m = FIELD.exec(text);
  return m ? { name: m[1]!, value: m[2]!.trim() } : null;
}

const encloseAction: ActionDef = {
  type: 'enclose',
  cancelsImplicitKeep: () => false,
  describe: (a) => `enclose${a.target ? ` "${a.target}"` : ''}`,
};

/** A boundary that occurs nowhere in what it separates (RFC 2046 5.1.1). */
function boundary(content: string): string {
  for (;;) {
    const b = `enclose-${randomBytes(12).toString('hex')}`;
    if (!content.includes(b)) return b;
  }
}

export function enclosedMessage(rt: Runtime, text: string, subject: string | undefined, extra: Array<{ name: string; value: string }>): string {
  const original = rt.message!;
  const now = rt.host.now?.() ?? new Date();
  const domain = rt.host.environment?.('domain');
  const fields = new Map<string, string>([
    ['subject', fieldText('Subject', subject ?? headerValues(original, 'subject')[0]?.trim() ?? '')],
    ['from', `From: ${domain ? `postmaster@${domain}` : 'MAILER-DAEMON'}`],
    ['date', `Date: ${datePart({ utc: now.getTime(), offset: 0 }, 'std11')}`],
    ['message-id', `Message-ID: <${randomBytes(12).toString('hex')}@${domain ?? 'enclose.invalid'}>`],
  ]);
  for (const f of extra) fields.set(f.name.toLowerCase(), fieldText(f.name, f.value));
  const body = text.replace(/\r?\n/g, '\r\n');
  const b = boundary(original.raw + body);
  return [
    ...fields.values(),
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    body,
    `--${b}`,
    'Content-Type: message/rfc822',
    '',
    original.raw.endsWith('\r\n') ? original.raw.slice(0, -2) : original.raw,
    `--${b}--`,
    '',
  ].join('\r\n');
}

export const encloseExt: Extension = {
  capability: 'enclose',
  commands: [
    {
      name: 'enclose',
      kind: 'command',
      needsMessage: true,
      tags: [
        { name: 'subject', args: [{ name: 'subject', type: 'string' }] },
        { name: 'headers', args: [{ name: 'headers', type: 'stringlist' }] },
      ],
      positional: [{ name: 'text', type: 'string' }],
      validate(b, v) {
        const h = b.tags.get('headers')?.args[0];
        const list = h?.kind === 'stringlist' ? (h.constant ?? []) : h ? [constantString(h)].filter((x): x is string => x !== null) : [];
        const bad = list.find((f) => !parseHeaderField(f));
        if (bad !== undefined) v.error(h!.node.pos, `enclose :headers: '${bad}' is not a header field ("Name: value")`);
      },
      execute(b, rt) {
        const msg = rt.requireMessage(b.node.pos);
        const subjectArg = b.tags.get('subject')?.args[0];
        const subject = subjectArg ? rt.string(subjectArg) : undefined;
        const extra: Array<{ name: string; value: string }> = [];
        const h = b.tags.get('headers')?.args[0];
        for (const f of h ? rt.list(h) : []) {
          const parsed = parseHeaderField(f);
          if (!parsed) return rt.fail(`enclose :headers: '${f}' is not a header field ("Name: value")`, b.node.pos);
          extra.push(parsed);
        }
        const text = enclosedMessage(rt, rt.string(b.args[0]!), subject, extra);
        rt.take(b, encloseAction, { target: subject, message: msg });
        rt.message = parseMessage(text);
      },
    },
  ],
};
