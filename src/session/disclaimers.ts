/**
 * Sieve++ disclaimer_add carried out (sieve-ref-disclaimer-add.md): the
 * `plain` text is appended to every text/plain part of the message that is
 * not an attachment, the `html` text to every such text/html part. An HTML
 * disclaimer goes before the part's last `</body>` when it has one, so
 * that it is inside the document, else at its end; a plain one on a line
 * of its own.
 *
 * mailsplit (the splitter mailparser is built on) finds the parts and
 * rewrites them: each chosen part is decoded from its transfer encoding
 * and its charset (src/sieve/runtime/charset.ts, as the body tests read it), the text appended, and
 * the part written back as UTF-8 in quoted-printable (base64 parts stay
 * base64), its charset parameter set to match (RFC 2045 6.7, RFC 2046
 * 4.1.2). A format=flowed part loses the parameter with its line
 * structure: mailsplit decodes flowed text before it hands it over. A
 * message attached to this one (message/rfc822) is not entered: its parts
 * are someone else's message. Everything else passes through as it was.
 */
import { createRequire } from 'node:module';
import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { MimeNode, RewriterNode } from '@zone-eu/mailsplit/lib/types.js';
import { charsetDecoder } from '../sieve/runtime/charset.js';
import { inTurns } from '../in-turns.js';

export interface Disclaimer {
  html?: string;
  plain?: string;
}

interface Mailsplit {
  Splitter: new (options: { ignoreEmbedded: boolean }) => Transform;
  Joiner: new () => Transform;
  Rewriter: new (filter: (node: MimeNode) => boolean) => Transform & { on(event: 'node', listener: (data: RewriterNode) => void): unknown };
}

let mailsplit: Mailsplit | undefined;
/** mailsplit, loaded on first use, or before serving by a policy that adds disclaimers (src/server/warm-up.ts). */
export const loadMailsplit = () => (mailsplit ??= createRequire(import.meta.url)('@zone-eu/mailsplit') as Mailsplit);

/** The disclaimers' texts for each kind of part, joined in the order the scripts added them. */
function textsFor(list: readonly Disclaimer[]): { html: string[]; plain: string[] } {
  const html: string[] = [];
  const plain: string[] = [];
  for (const d of list) {
    if (d.html !== undefined) html.push(d.html);
    if (d.plain !== undefined) plain.push(d.plain);
  }
  return { html, plain };
}

/**
 * A part's octets as text in its charset, a piece at a time as they are
 * decoded from their transfer encoding (`more`: pieces follow); an unknown
 * charset is read as UTF-8, as the body tests read it
 * (src/sieve/runtime/mime-decode.ts).
 */
function textDecoder(charset: string): (piece: Buffer, more: boolean) => string {
  const c = charset.toLowerCase();
  try {
    const d = charsetDecoder(c === 'us-ascii' ? 'utf-8' : c);
    return (piece, more) => d.decode(piece, more);
  } catch {
    const utf8 = new StringDecoder('utf8');
    return (piece, more) => utf8.write(piece) + (more ? '' : utf8.end());
  }
}

/**
 * The part's text with the disclaimers added, each on lines of its own. A
 * text that ended with a line break still does; one that did not still does
 * not (the line break before a MIME boundary belongs to the boundary, RFC
 * 2046 5.1.1, so a part's text often ends without one).
 */
export function withDisclaimer(text: string, kind: 'html' | 'plain', texts: readonly string[]): string {
  const added = texts.map((t) => t.replace(/\r?\n/g, '\r\n')).join('\r\n');
  const closing = kind === 'html' ? text.toLowerCase().lastIndexOf('</body') : -1;
  if (closing >= 0) {
    const before = text.slice(0, closing);
    return `${before}${before === '' || before.endsWith('\n') ? '' : '\r\n'}${added}\r\n${text.slice(closing)}`;
  }
  if (text === '') return added;
  return text.endsWith('\n') ? `${text}${added}\r\n` : `${text}\r\n${added}`;
}

/** The message with the disclaimers added to its text parts; the message itself when no part takes one. */
export async function addDisclaimers(message: Buffer, list: readonly Disclaimer[]): Promise<Buffer> {
  const texts = textsFor(list);
  if (!texts.html.length && !texts.plain.length) return message;
  const { Splitter, Joiner, Rewriter } = loadMailsplit();
  const kindOf = (node: MimeNode): 'html' | 'plain' | undefined => {
    if (node.multipart || node.disposition === 'attachment') return undefined;
    // A part without Content-Type is text/plain (RFC 2045 5.2).
    const type = node.contentType || 'text/plain';
    if (type === 'text/plain' && texts.plain.length) return 'plain';
    if (type === 'text/html' && texts.html.length) return 'html';
    return undefined;
  };
  let touched = 0;
  const splitter = new Splitter({ ignoreEmbedded: true });
  const rewriter = new Rewriter((node) => kindOf(node) !== undefined);
  const joiner = new Joiner();
  const rewritten = new Set<MimeNode>();
  rewriter.on('node', ({ node, decoder, encoder }) => {
    const kind = kindOf(node)!;
    rewritten.add(node);
    const decode = textDecoder(node.charset || 'us-ascii');
    let decoded = '';
    decoder.on('data', (chunk: Buffer) => (decoded += decode(chunk, true)));
    decoder.on('end', () => {
      decoded += decode(Buffer.alloc(0), false);
      touched++;
      node.setCharset('utf-8');
      settleHeaders(node);
      // Encoded a piece a turn, as the message is split (src/in-turns.ts): a 10 MB part encoded in one write held every session.
      inTurns(Buffer.from(withDisclaimer(decoded, kind, kind === 'html' ? texts.html : texts.plain), 'utf8')).pipe(encoder);
    });
  });
  const out: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    for (const s of [splitter, rewriter, joiner]) s.once('error', reject);
    joiner.on('data', (chunk: Buffer) => out.push(chunk));
    joiner.once('end', () => resolve(Buffer.concat(out)));
  });
  // mailsplit ends a rewritten body that does not end in a line feed with a lone LF (a base64 part
  // always). Before a boundary that is one line too many (the CRLF before a delimiter belongs to the
  // delimiter, RFC 2046 5.1.1, and the joiner writes it); at the end of a message it is a bare LF,
  // which SMTP does not allow (RFC 5321 2.3.8) and receivers refuse: a CRLF then.
  // It is told from an LF of the text's own by what came before it: mailsplit adds one only after a
  // last octet that is not an LF, and an encoder never ends with a bare CR.
  const lastOctet = new Map<MimeNode, number>();
  const lineEnds = new Transform({
    objectMode: true,
    transform(chunk: { type: string; node?: MimeNode; value?: Buffer }, _e, cb) {
      const node = chunk.node;
      if (chunk.type !== 'body' || !node || !rewritten.has(node) || !chunk.value?.length) return cb(null, chunk);
      const before = lastOctet.get(node);
      lastOctet.set(node, chunk.value[chunk.value.length - 1]!);
      const added = chunk.value.length === 1 && chunk.value[0] === 0x0a && before !== undefined && before !== 0x0a && before !== 0x0d;
      if (!added) return cb(null, chunk);
      if (!node.root) return cb();
      chunk.value = CRLF;
      cb(null, chunk);
    },
  });
  splitter.pipe(rewriter).pipe(lineEnds).pipe(joiner);
  inTurns(message).pipe(splitter);
  const result = await done;
  return touched ? result : message;
}

const CRLF = Buffer.from('\r\n');

/**
 * After the rewrite the part says what it now is (charset, transfer
 * encoding); mailsplit writes a field it adds at the top of the header, so
 * these go to its end, where readers expect MIME fields, and a message that
 * was not MIME becomes MIME (RFC 2045 4: the fields mean nothing without
 * MIME-Version).
 */
function settleHeaders(node: MimeNode): void {
  const headers = node.headers as unknown as { getFirst(k: string): string; hasHeader(k: string): boolean; remove(k: string): void; add(k: string, v: string, i: number): void };
  for (const key of ['Content-Type', 'Content-Transfer-Encoding']) {
    const value = headers.getFirst(key);
    headers.remove(key);
    if (value) headers.add(key, value, Number.MAX_SAFE_INTEGER);
  }
  if (node.root && !headers.hasHeader('MIME-Version')) headers.add('MIME-Version', '1.0', Number.MAX_SAFE_INTEGER);
}
