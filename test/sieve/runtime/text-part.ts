/** A text/plain MIME part with this body, transfer encoding and charset, for the decoding tests. */
import type { MimePart } from '../../../src/sieve/runtime/mime.js';

export const textPart = (body: string, cte: string | undefined, charset?: string): MimePart => ({
  headers: cte === undefined ? [] : [{ name: 'Content-Transfer-Encoding', lname: 'content-transfer-encoding', value: ` ${cte}`, raw: `Content-Transfer-Encoding: ${cte}` }],
  type: 'text/plain',
  params: charset ? { charset } : {},
  body,
  children: [],
  preamble: '',
  epilogue: '',
});
