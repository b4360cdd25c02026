/**
 * RFC 5703 section 5: replace. `replace [:mime] [:subject <text>] [:from
 * <address>] <replacement>` replaces the current MIME part inside
 * foreverypart, else the whole message body: with a text/plain UTF-8 part,
 * or with :mime a MIME entity (headers and content) as given. When the
 * whole message is replaced, its other header fields stay; :subject and
 * :from set Subject and From, keeping the old ones as Original-Subject and
 * Original-From (an invalid run-time :from is ignored, as the RFC
 * recommends). It is an action that does not cancel the implicit keep;
 * like editheader it gives the run a new message, which later tests read
 * and the keep, fileinto or redirect that follow deliver.
 */
import type { ActionDef } from '../action.js';
import type { Extension } from '../registry.js';
import { parseAddressList } from '../runtime/address.js';
import { andThen } from '../interpreter.js';
import type { MaybePromise } from '../registry.js';
import { type HeaderField, parseMessageIn, type SieveMessage } from '../runtime/message.js';
import { afterLoad, afterMimeTree, mimeTree, walkParts } from '../runtime/mime.js';
import { currentPart } from '../runtime/mime-current-part.js';
import { REPLACED, type Replaced, serializePart } from '../runtime/mime-replaced.js';
import type { Runtime } from '../runtime/runtime.js';
import { constantString } from '../validate.js';
import { fieldText } from './editheader.js';

/** The header fields that describe the body being replaced (RFC 2045 3-8, RFC 2183). */
const MIME_FIELDS = new Set(['mime-version', 'content-type', 'content-transfer-encoding', 'content-disposition', 'content-id', 'content-description']);

const replaceAction: ActionDef = {
  type: 'replace',
  cancelsImplicitKeep: () => false,
  describe: () => 'replace',
};

const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');

function entity(text: string, mime: boolean): string {
  return mime ? crlf(text) : `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${crlf(text)}`;
}

const validFrom = (s: string) => (parseAddressList(s)?.length ?? 0) > 0;

function wholeMessage(msg: SieveMessage, replacement: string, subject: string | undefined, from: string | undefined): string {
  const kept: string[] = [];
  const rename = (h: HeaderField, to: string) => `${to}:${h.raw.slice(h.raw.indexOf(':') + 1)}`;
  for (const h of msg.headers) {
    if (MIME_FIELDS.has(h.lname)) continue;
    if (subject !== undefined && h.lname === 'subject') kept.push(rename(h, 'Original-Subject'));
    else if (from !== undefined && h.lname === 'from') kept.push(rename(h, 'Original-From'));
    else kept.push(h.raw);
  }
  if (subject !== undefined) kept.push(fieldText('Subject', subject));
  if (from !== undefined) kept.push(fieldText('From', from));
  kept.push('MIME-Version: 1.0');
  return `${kept.join('\r\n')}\r\n${replacement}`;
}

function replacePart(rt: Runtime, msg: SieveMessage, text: string): string | null {
  const cur = currentPart(rt.state);
  if (!cur) return null;
  let r = rt.state.get(REPLACED) as Replaced | undefined;
  if (!r || !Array.from(walkParts(r.root)).includes(cur)) {
    const root = mimeTree(msg);
    if (!Array.from(walkParts(root)).includes(cur) || cur === root) return null;
    r = { root, parts: new Map() };
    rt.state.set(REPLACED, r);
  }
  if (cur === r.root) return null;
  r.parts.set(cur, text);
  return serializePart(r.root, r.parts);
}

/**
 * The message a replace wrote out, read as the run's message from now on.
 * Parsing it is work in proportion to its length (a message of large
 * header fields), charged to the run's budget as it goes and done in time
 * slices (parseMessageIn; docs/sieve-interpreter.md, "CPU budget and time
 * slices").
 */
function written(rt: Runtime, text: string, then: () => void): MaybePromise<void> {
  return andThen(parseMessageIn(text, rt.budget), (m) => {
    rt.message = m;
    then();
  });
}

export const replace: Extension = {
  capability: 'replace',
  commands: [
    {
      name: 'replace',
      kind: 'command',
      needsMessage: true,
      tags: [{ name: 'mime' }, { name: 'subject', args: [{ name: 'subject', type: 'string' }] }, { name: 'from', args: [{ name: 'from', type: 'string' }] }],
      positional: [{ name: 'replacement', type: 'string' }],
      validate(b, v) {
        const from = b.tags.get('from')?.args[0];
        const c = constantString(from);
        if (c !== null && !validFrom(c)) v.error(from!.node.pos, `replace :from: '${c}' is not a valid mailbox list`);
      },
      execute(b, rt) {
        const msg = rt.requireMessage(b.node.pos);
        // Inside foreverypart the part tree is needed (replacePart): read it first.
        const later = currentPart(rt.state) ? afterMimeTree(msg, rt.budget, () => b.def.execute!(b, rt)) : undefined;
        if (later) return later;
        // It writes out the whole message (or its whole part tree): a spooled one is loaded first, not read on the event loop.
        const loaded = afterLoad(msg.load?.(), rt.budget, () => b.def.execute!(b, rt));
        if (loaded) return loaded;
        const replacement = entity(rt.string(b.args[0]!), b.tags.has('mime'));
        rt.take(b, replaceAction, { message: msg });
        const inPart = replacePart(rt, msg, replacement);
        if (inPart !== null) return written(rt, inPart, () => {});
        const subjectArg = b.tags.get('subject')?.args[0];
        const fromArg = b.tags.get('from')?.args[0];
        const from = fromArg ? rt.string(fromArg) : undefined;
        const text = wholeMessage(msg, replacement, subjectArg ? rt.string(subjectArg) : undefined, from !== undefined && validFrom(from) ? from : undefined);
        // Inside foreverypart at the message itself: the loop goes into none of the old parts.
        const cur = currentPart(rt.state);
        return written(rt, text, () => {
          if (cur) rt.state.set(REPLACED, { root: cur, parts: new Map([[cur, replacement]]) } satisfies Replaced);
          else rt.state.delete(REPLACED);
        });
      },
    },
  ],
};
