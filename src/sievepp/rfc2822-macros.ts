/**
 * Momentum's `%{rfc2822:...}` macros (sieve-ecaddons.md, "Macros"): the
 * message, or a piece of it, in a string, as a notification or a report
 * quotes it (ec_forward, generate_mail_raw, ec_log):
 *
 *   message, message,N, message,Nb   the whole message, its first N lines, its first N octets
 *   headers                          the header section (each field with its CRLF, not the empty line after them)
 *   body, body,N, body,Nb            the body, its first N lines, its first N octets
 *   text                             the first text part's body, decoded to UTF-8
 *   part,N                           the Nth part with its header fields, as written
 *   text,N                           the Nth text part with its header fields, as written
 *   text,N,M                         the first M lines of the Nth text part's body, decoded to UTF-8
 *
 * Momentum's page does not say how parts are counted: here from 1, over
 * the leaf parts in the order they are written (a message/rfc822 part is
 * one part, not entered), and a message that is not MIME is one part, the
 * page's own reading. A text part is a part of type text/*. A part that
 * does not exist, or a macro read where there is no message, is the empty
 * string; a spelling the page does not list stays as written, as the other
 * macros' do. "Lines" end with CRLF, kept; "octets" count UTF-8 and never
 * cut a character in two.
 *
 * The string is made synchronously, as every string is; what it reads and
 * is not at hand (a message kept on disk, its MIME structure) is brought
 * in before the run starts (`prepareRfc2822`, NamespaceDef.prepare).
 */
import type { Runtime } from '../sieve/runtime/runtime.js';
import type { SieveMessage } from '../sieve/runtime/message.js';
import { type MimePart, mimeTreeAtHand, readMimeTree, walkParts } from '../sieve/runtime/mime.js';
import { decodedBody } from '../sieve/runtime/mime-decode.js';
import { SieveRuntimeFailure } from '../sieve/runtime/signals.js';

type Spec =
  | { what: 'message' | 'body'; lines?: number; octets?: number }
  | { what: 'headers' }
  | { what: 'text' }
  | { what: 'part' | 'textpart'; n: number; lines?: number };

const COUNT = /^\d+$/;
const LIMIT = /^(\d+)(b?)$/i;

/** The macro's spelling read, or undefined for one the page does not list. */
function parseSpec(spec: string): Spec | undefined {
  const [what = '', ...args] = spec.toLowerCase().split(',').map((a) => a.trim());
  if (what === 'headers' && !args.length) return { what };
  if (what === 'message' || what === 'body') {
    if (!args.length) return { what };
    const m = args.length === 1 ? LIMIT.exec(args[0]!) : null;
    return m ? (m[2] ? { what, octets: Number(m[1]) } : { what, lines: Number(m[1]) }) : undefined;
  }
  if (what === 'part' && args.length === 1 && COUNT.test(args[0]!)) return { what, n: Number(args[0]) };
  if (what === 'text') {
    if (!args.length) return { what };
    if (!args.every((a) => COUNT.test(a)) || args.length > 2) return undefined;
    return args.length === 1 ? { what: 'textpart', n: Number(args[0]) } : { what: 'textpart', n: Number(args[0]), lines: Number(args[1]) };
  }
  return undefined;
}

/** Whether the spelling reads MIME parts (then the part tree is read before the run). */
const readsParts = (s: Spec | undefined) => s !== undefined && (s.what === 'text' || s.what === 'part' || s.what === 'textpart');

/** The text through the end of its Nth line (CRLF kept); the whole text when it has fewer. */
export function firstLines(text: string, n: number): string {
  let at = 0;
  for (let i = 0; i < n; i++) {
    const lf = text.indexOf('\n', at);
    if (lf < 0) return text;
    at = lf + 1;
  }
  return text.slice(0, at);
}

/** The longest start of the text of at most `n` octets in UTF-8, cut between characters. */
export function firstOctets(text: string, n: number): string {
  if (text.length * 3 <= n) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= n) return text;
  let end = n;
  // Back off over continuation octets (10xxxxxx) to the start of the character cut in two.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** A header section and a body as written: each field with its CRLF, the empty line, the body. */
function withHeaderFields(p: MimePart): string {
  return `${p.headers.map((h) => `${h.raw}\r\n`).join('')}\r\n${p.body}`;
}

/** The leaf parts in the order written; a message that is not MIME is its one part. */
function leafParts(root: MimePart): MimePart[] {
  const out: MimePart[] = [];
  const visit = (p: MimePart) => {
    if (p.type.startsWith('multipart/') && p.children.length) for (const c of p.children) visit(c);
    else out.push(p);
  };
  visit(root);
  return out;
}

/** The tree of the message, or of the message as the run began (header edits change no part below the top). */
function treeOf(rt: Runtime, m: SieveMessage): MimePart | undefined {
  return mimeTreeAtHand(m) ?? (rt.initialMessage ? mimeTreeAtHand(rt.initialMessage) : undefined);
}

/** `%{rfc2822:<spec>}` for the run's message. */
export function readRfc2822(rt: Runtime, spec: string): string {
  const s = parseSpec(spec);
  if (!s) return `%{rfc2822:${spec}}`;
  const m = rt.message;
  if (!m) return '';
  switch (s.what) {
    case 'message':
      return s.lines !== undefined ? firstLines(m.raw, s.lines) : s.octets !== undefined ? firstOctets(m.raw, s.octets) : m.raw;
    case 'body':
      return s.lines !== undefined ? firstLines(m.body, s.lines) : s.octets !== undefined ? firstOctets(m.body, s.octets) : m.body;
    case 'headers':
      return m.headers.map((h) => `${h.raw}\r\n`).join('');
  }
  const tree = treeOf(rt, m);
  if (!tree) return '';
  if (s.what === 'text') {
    const first = leafParts(tree).find((p) => p.type.startsWith('text/'));
    return first ? (decodedBody(first) ?? first.body) : '';
  }
  const parts = leafParts(tree).filter((p) => s.what === 'part' || p.type.startsWith('text/'));
  const part = s.n >= 1 ? parts[s.n - 1] : undefined;
  if (!part) return '';
  // Not MIME: the one part is the message, its header fields the message's own.
  if (s.lines !== undefined) return firstLines(decodedBody(part) ?? part.body, s.lines);
  return part === tree && !tree.children.length ? m.raw : withHeaderFields(part);
}

/**
 * Brings in what the script's `%{rfc2822:...}` macros read: the whole
 * message when it is kept on disk, and the part tree with every part's
 * body when a macro reads parts. A message nested too deep to read gives
 * no parts (the macros read empty) rather than failing the run: the
 * macros quote the message, they do not judge it.
 */
export function prepareRfc2822(rt: Runtime, paths: readonly string[]): Promise<void> | undefined {
  const m = rt.message;
  if (!m) return undefined;
  const specs = paths.map(parseSpec);
  if (!specs.some((s) => s !== undefined)) return undefined;
  const loading = m.load?.();
  if (!specs.some(readsParts)) return loading;
  const parts = async () => {
    try {
      const tree = await readMimeTree(m);
      for (const p of walkParts(tree)) await p.ready?.('body');
    } catch (e) {
      if (!(e instanceof SieveRuntimeFailure)) throw e;
    }
  };
  return loading ? loading.then(parts) : mimeTreeAtHand(m) ? undefined : parts();
}
