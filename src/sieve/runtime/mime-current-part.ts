/**
 * The part foreverypart is at (RFC 5703 3), and the header fields the
 * `:mime` option (RFC 5703 4.1) reads of it.
 */
import { type SieveMessage } from './message.js';
import { type MimePart, mimeTree, walkParts } from './mime.js';

/** The parts foreverypart is inside, innermost last (RFC 5703 3), kept in the run's state. */
export const PART_STACK = 'mime.parts';

export function currentPart(state: Map<string, unknown>): MimePart | undefined {
  return (state.get(PART_STACK) as MimePart[] | undefined)?.at(-1);
}

/**
 * RFC 5703 4.1: the header fields `:mime` tests read: those of the current
 * part (the message itself outside foreverypart) or, with `:anychild`, of
 * it and every part inside it.
 */
export function mimeFields(msg: SieveMessage, state: Map<string, unknown>, names: string[], anychild: boolean): string[] {
  const part = currentPart(state) ?? mimeTree(msg);
  const parts = anychild ? Array.from(walkParts(part)) : [part];
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const out: string[] = [];
  for (const p of parts) for (const h of p.headers) if (wanted.has(h.lname)) out.push(h.value);
  return out;
}
