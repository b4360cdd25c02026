/**
 * A message in 7 bits, for a next hop that does not offer 8BITMIME: RFC
 * 6152 3 lets the client either convert such a message or return it, and
 * converting is what Postfix and Sendmail do. Each MIME part whose body
 * holds octets above 127 (declared `8bit` or `binary`, or declared `7bit`
 * or nothing at all by a sender that broke its word) goes quoted-printable
 * (RFC 2045 6.7), the same octets once decoded; a part declared `8bit`
 * without any such octet is declared `7bit`; a multipart or an embedded
 * message declared `8bit` or `binary` is declared `7bit` once its parts
 * are (RFC 2045 6.4), and an attached message (message/rfc822, which may
 * be declared nothing else, RFC 2046 5.2.1) is converted within as a
 * message of its own. A message without MIME header fields that needs
 * converting gets `MIME-Version: 1.0` (RFC 2045 4), an attached one too.
 * Header sections are left as they are: RFC 6152 is about bodies, and
 * 8-bit header fields are SMTPUTF8's (RFC 6531).
 *
 * mailsplit (the splitter mailparser is built on) finds the parts; a
 * message it changes nothing in comes out octet for octet. A part that may
 * need converting is held until it ends (its body, at most the message):
 * whether it does is known only once every octet of it has been seen.
 */
import { isAscii } from 'node:buffer';
import { createRequire } from 'node:module';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import type { MimeNode } from '@zone-eu/mailsplit/lib/types.js';
import { inTurns } from '../in-turns.js';

type Headers = Exclude<MimeNode['headers'], false>;

interface Mailsplit {
  Splitter: new () => Transform;
  Joiner: new () => Transform;
}
interface Libqp {
  Encoder: new (options: { lineLength: number }) => Transform;
}

const load = createRequire(import.meta.url);
let libs: { mailsplit: Mailsplit; libqp: Libqp } | undefined;
/** Loaded on first use: most next hops offer 8BITMIME, and most processes never convert. */
const loaded = () => (libs ??= { mailsplit: load('@zone-eu/mailsplit') as Mailsplit, libqp: load('libqp') as Libqp });

/** Quoted-printable lines are at most 76 characters, soft line breaks included (RFC 2045 6.7, rule 5). */
const QP_LINE = 76;

/** Whether any octet is above 127. */
export function hasEightBit(octets: Buffer): boolean {
  return !isAscii(octets);
}

/**
 * Set on the error of a message that could not be converted (one mailsplit
 * cannot split: a header section past its 1 MB): no later attempt can do
 * better, and the sender is told at once (smtp-sender.ts, RFC 3463 5.6.3).
 */
export const CONVERSION_FAILED = Symbol('the 7-bit conversion failed');

/** The message, its bodies in 7 bits (see above); an error in the message's structure comes out as the stream's error, marked CONVERSION_FAILED. */
export function sevenBit(message: Buffer | Readable): Readable {
  const { mailsplit } = loaded();
  // A message in memory is split a piece an event-loop turn, as a part is encoded (src/in-turns.ts).
  const source = Buffer.isBuffer(message) ? inTurns(message) : message;
  const splitter = new mailsplit.Splitter();
  const parts = new SevenBitParts();
  // Marked as it is raised, before the pipeline hands it on to the joiner's reader.
  const mark = (e: Error) => void Object.assign(e, { [CONVERSION_FAILED]: true });
  splitter.once('error', mark);
  parts.once('error', mark);
  const joiner = new mailsplit.Joiner();
  pipeline(source, splitter, parts, joiner, () => undefined);
  return joiner;
}

/** The whole converted message in memory: an attached message (below), held whole already. */
export async function sevenBitOctets(message: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of sevenBit(message)) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

type Piece = MimeNode | { type: 'body' | 'data'; value: Buffer; node?: MimeNode };

const EIGHT_BIT = new Set(['8bit', 'binary']);

/** Between mailsplit's splitter and joiner: converts each leaf part that needs it. */
class SevenBitParts extends Transform {
  private held: { node: MimeNode; chunks: Buffer[]; eightBit: boolean } | undefined;

  constructor() {
    super({ readableObjectMode: true, writableObjectMode: true });
  }

  override _transform(piece: Piece, _encoding: BufferEncoding, done: TransformCallback): void {
    if (piece.type === 'body' && this.held) {
      this.held.chunks.push(piece.value);
      this.held.eightBit ||= hasEightBit(piece.value);
      return done();
    }
    const releasing = this.release();
    if (releasing) releasing.then(() => this.afterHeld(piece, done), done);
    else this.afterHeld(piece, done);
  }

  override _flush(done: TransformCallback): void {
    const releasing = this.release();
    if (releasing) releasing.then(() => done(), done);
    else done();
  }

  /** A piece after the part held, if any, was let go. */
  private afterHeld(piece: Piece, done: TransformCallback): void {
    if (piece.type === 'node') {
      const node = piece as MimeNode;
      const encoding = node.encoding || '';
      // A multipart's parts, or an embedded message's that mailsplit reads as parts, carry their own encodings:
      // the container says 7bit once they do.
      if (node.multipart || node.messageNode) {
        if (EIGHT_BIT.has(encoding)) setEncoding(node, '7bit');
      } else if (encoding !== 'base64' && encoding !== 'quoted-printable') {
        this.held = { node, chunks: [], eightBit: false };
        return done();
      }
    }
    this.push(piece);
    done();
  }

  /** The part held, as it came or converted, once its body is whole; a promise while an attached message is converted. */
  private release(): Promise<void> | undefined {
    const held = this.held;
    if (!held) return undefined;
    this.held = undefined;
    const { node, chunks } = held;
    if (!held.eightBit) {
      if (EIGHT_BIT.has(node.encoding || '')) setEncoding(node, '7bit');
      this.push(node);
      for (const value of chunks) this.push({ node, type: 'body', value });
      return undefined;
    }
    if (node.contentType === 'message/rfc822') {
      // An attached message may have no encoding but 7bit, 8bit or binary (RFC 2046 5.2.1): it is converted within, a message of its own.
      return sevenBitOctets(Buffer.concat(chunks)).then((inner) => {
        setEncoding(node, '7bit');
        this.push(node);
        this.push({ node, type: 'body', value: inner });
      });
    }
    const { libqp } = loaded();
    const headers = headersOf(node);
    if (node.root && !headers.hasHeader('MIME-Version')) headers.add('MIME-Version', '1.0', headers.getList().length);
    setEncoding(node, 'quoted-printable');
    this.push(node);
    // Encoded a piece an event-loop turn (src/in-turns.ts): a 10 MB part encoded at once held every session.
    // libqp's encoder writes the same text however its input is cut.
    const encoder = new libqp.Encoder({ lineLength: QP_LINE });
    encoder.on('data', (value: Buffer) => this.push({ node, type: 'body', value }));
    const encoded = new Promise<void>((resolve, reject) => {
      encoder.once('end', resolve);
      encoder.once('error', reject);
    });
    inTurns(Buffer.concat(chunks)).pipe(encoder);
    return encoded;
  }
}

function headersOf(node: MimeNode): Headers {
  if (!node.headers) node.parseHeaders();
  return node.headers as Headers;
}

/** The part's Content-Transfer-Encoding, changed where it is, or added after the other fields. */
function setEncoding(node: MimeNode, encoding: string): void {
  const headers = headersOf(node);
  if (headers.hasHeader('Content-Transfer-Encoding')) headers.update('Content-Transfer-Encoding', encoding);
  else headers.add('Content-Transfer-Encoding', encoding, headers.getList().length);
  node.encoding = encoding;
}
