/**
 * RFC 5703 section 6: enclose. `enclose [:subject <text>] [:headers
 * <fields>] <text>` makes a new message whose body is multipart/mixed: the
 * text as a text/plain part, then the message so far as message/rfc822.
 * It is an action (it does not cancel the implicit keep) and, as
 * editheader does, it changes the message from then on: later tests read
 * the new message, and the keep and fileinto that follow deliver it. A
 * second enclose encloses the enclosed message ("the message is enclosed
 * multiple times"). A redirect is not affected (section 6: "This action
 * does not affect messages that are forwarded via a redirect action"): it
 * forwards the message as it was before the first enclose
 * (Runtime.redirectSource).
 *
 * The new message's Subject is :subject, else the enclosed message's.
 * :headers names fields "copied from the old message into the new
 * message"; an item written "Name: value" adds that field instead (as
 * Stalwart's sieve-rs reads it; a field name cannot hold ":", so the two
 * readings never meet). From and Date, unless :headers gives them, are
 * "synthesized to reflect the current date and the user running the Sieve
 * action": the host's user (setting sieve_user_email), else the postmaster
 * of its domain (environment "domain"), else MAILER-DAEMON.
 */
import { randomHex } from '../../random.js';
import type { ActionDef } from '../action.js';
import { andThen } from '../interpreter.js';
import type { Extension } from '../registry.js';
import { datePart } from '../runtime/datetime.js';
import { afterLoad, headerValues, parseMessageIn } from '../runtime/message.js';
import type { Runtime } from '../runtime/runtime.js';
import { constantString } from '../validate.js';
import { fieldText } from './editheader.js';

/** RFC 5322 2.2: "name: value", the name printable ASCII without ":"; no bare line breaks in the value. */
const FIELD = /^([\x21-\x39\x3b-\x7e]+):[ \t]*([^\r\n]*)$/;
const NAME = /^[\x21-\x39\x3b-\x7e]+$/;

export function parseHeaderField(text: string): { name: string; value: string } | null {
  const m = FIELD.exec(text);
  return m ? { name: m[1]!, value: m[2]!.trim() } : null;
}

/** A :headers item: the name of a field to copy, or a field to add; null when it is neither. */
export function headersItem(text: string): { copy: string } | { name: string; value: string } | null {
  return NAME.test(text) ? { copy: text } : parseHeaderField(text);
}

const badItem = (t: string) => `enclose :headers: '${t}' is neither a header field name nor a field ("Name: value")`;

const encloseAction: ActionDef = {
  type: 'enclose',
  cancelsImplicitKeep: () => false,
  describe: (a) => `enclose${a.target ? ` "${a.target}"` : ''}`,
};

/** A boundary that occurs nowhere in what it separates (RFC 2046 5.1.1). */
function boundary(content: string): string {
  for (;;) {
    const b = `enclose-${randomHex(12)}`;
    if (!content.includes(b)) return b;
  }
}

export function enclosedMessage(rt: Runtime, text: string, subject: string | undefined, items: ReadonlyArray<NonNullable<ReturnType<typeof headersItem>>>): string {
  const original = rt.message!;
  const now = rt.now();
  const domain = rt.host.environment?.('domain');
  const user = rt.setting('sieve_user_email') ?? (domain ? `postmaster@${domain}` : 'MAILER-DAEMON');
  const fields = new Map<string, string>([
    ['subject', fieldText('Subject', subject ?? headerValues(original, 'subject')[0]?.trim() ?? '')],
    ['from', `From: ${user}`],
    ['date', `Date: ${datePart({ utc: now.getTime(), offset: 0 }, 'std11')}`],
    ['message-id', `Message-ID: <${randomHex(12)}@${domain ?? 'enclose.invalid'}>`],
  ]);
  for (const item of items) {
    if ('copy' in item) {
      // Every occurrence, as written in the old message (folding kept).
      const name = item.copy.toLowerCase();
      const copied = original.headers.filter((h) => h.lname === name).map((h) => h.raw);
      if (copied.length) fields.set(name, copied.join('\r\n'));
    } else fields.set(item.name.toLowerCase(), fieldText(item.name, item.value));
  }
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
        const bad = list.find((f) => !headersItem(f));
        if (bad !== undefined) v.error(h!.node.pos, badItem(bad));
      },
      execute(b, rt) {
        const msg = rt.requireMessage(b.node.pos);
        // It encloses the whole message: a spooled one is loaded first, not read on the event loop.
        const loaded = afterLoad(msg.load?.(), rt.budget, () => b.def.execute!(b, rt));
        if (loaded) return loaded;
        const subjectArg = b.tags.get('subject')?.args[0];
        const subject = subjectArg ? rt.string(subjectArg) : undefined;
        const items: Array<NonNullable<ReturnType<typeof headersItem>>> = [];
        const h = b.tags.get('headers')?.args[0];
        for (const f of h ? rt.list(h) : []) {
          const item = headersItem(f);
          if (!item) return rt.fail(badItem(f), b.node.pos);
          items.push(item);
        }
        const text = enclosedMessage(rt, rt.string(b.args[0]!), subject, items);
        rt.take(b, encloseAction, { target: subject, message: msg });
        // A redirect from now on forwards the message as it was before the first enclose.
        rt.redirectSource ??= msg;
        // The old message written out whole inside the new one, and parsed: charged as it goes, in time slices (docs/sieve-interpreter.md, "CPU budget and time slices").
        return andThen(parseMessageIn(text, rt.budget), (m) => {
          rt.message = m;
        });
      },
    },
  ],
};
