/**
 * Milter framing (docs/postfix.md, "The milter protocol"): every packet, in
 * both directions, is a 4-byte big-endian length, then that many bytes: a
 * one-byte command code and its data. The length counts the code, so it is
 * never 0.
 *
 * The decoder takes whatever the socket delivers, in any split, and hands
 * back whole frames. It holds at most one partial frame, and refuses a
 * length over its bound before buffering a byte of it, so no peer can make
 * it hold more than `maxFrame + 4` bytes.
 */

/** Bytes of the length prefix (MILTER_LEN_BYTES). */
export const LENGTH_BYTES = 4;

/**
 * Default bound of one frame: body chunks are at most 65535 bytes unless a
 * larger size is negotiated (we never ask), but Postfix sends one header
 * field per frame and allows header_size_limit (102400 by default) for it.
 */
export const DEFAULT_MAX_FRAME = 256 * 1024;

export interface Frame {
  /** The command or response code, one ASCII character. */
  code: string;
  data: Buffer;
}

/** A frame that breaks the protocol: the connection cannot be trusted any more. */
export class MilterProtocolError extends Error {
  override name = 'MilterProtocolError';
}

export class FrameDecoder {
  private parts: Buffer[] = [];
  private buffered = 0;
  /**
   * Octets the next frame needs in all, its length prefix included: known
   * once the prefix has arrived. Until they are all here, the pieces wait
   * as they came: a 64 KB body chunk arrives in several socket reads, and
   * joining the pieces at each read copied it again and again.
   */
  private needed = LENGTH_BYTES;

  constructor(readonly maxFrame = DEFAULT_MAX_FRAME) {}

  /** Bytes held for a frame not yet complete. */
  get pending(): number {
    return this.buffered;
  }

  /** Feeds bytes; returns the frames they complete. Throws MilterProtocolError on a bad length. */
  push(chunk: Buffer): Frame[] {
    if (chunk.length) {
      this.parts.push(chunk);
      this.buffered += chunk.length;
    }
    if (this.buffered < this.needed) return [];
    const frames: Frame[] = [];
    // Pieces joined are a buffer of our own, most of it the frame that completed.
    const joined = this.parts.length > 1;
    let buf = joined ? Buffer.concat(this.parts, this.buffered) : this.parts[0]!;
    let at = 0;
    this.needed = LENGTH_BYTES;
    while (buf.length - at >= LENGTH_BYTES) {
      const length = this.frameLength(buf, at);
      if (buf.length - at - LENGTH_BYTES < length) {
        this.needed = LENGTH_BYTES + length;
        break;
      }
      const start = at + LENGTH_BYTES;
      const data = buf.subarray(start + 1, start + length);
      // A small frame is copied, so that a frame kept by the caller does not pin the whole socket chunk;
      // a frame that is most of its buffer is that buffer's view (a copy would double the octets to collect).
      frames.push({ code: String.fromCharCode(buf[start]!), data: joined || 2 * length >= buf.length ? data : Buffer.from(data) });
      at = start + length;
    }
    buf = buf.subarray(at);
    this.parts = buf.length ? [buf] : [];
    this.buffered = buf.length;
    return frames;
  }

  /** The length a frame's prefix at `at` gives, refused before a byte of the frame is buffered when it is 0 or over the bound. */
  private frameLength(buf: Buffer, at: number): number {
    const length = buf.readUInt32BE(at);
    if (length === 0) throw new MilterProtocolError('frame of length 0 (no command code)');
    if (length > this.maxFrame) throw new MilterProtocolError(`frame of ${length} bytes is over the limit of ${this.maxFrame}`);
    return length;
  }
}

export function encodeFrame(code: string, data: Buffer = Buffer.alloc(0)): Buffer {
  if (code.length !== 1) throw new RangeError(`a milter code is one character, not '${code}'`);
  const out = Buffer.allocUnsafe(LENGTH_BYTES + 1 + data.length);
  out.writeUInt32BE(1 + data.length, 0);
  out[LENGTH_BYTES] = code.charCodeAt(0);
  data.copy(out, LENGTH_BYTES + 1);
  return out;
}
