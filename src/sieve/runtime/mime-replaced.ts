/**
 * The parts `replace` has replaced (RFC 5703 5), and the entity text of a
 * part tree with them in place.
 */
import { type MimePart, walkParts } from './mime.js';

/**
 * RFC 5703 5: parts `replace` has replaced while foreverypart walks the
 * tree they belong to (by the part of that tree, with the entity that
 * stands for it now). foreverypart does not go into a replaced part.
 */
export const REPLACED = 'mime.replaced';
export interface Replaced {
  root: MimePart;
  parts: Map<MimePart, string>;
}

export function insideReplaced(state: Map<string, unknown>, part: MimePart): boolean {
  const r = state.get(REPLACED) as Replaced | undefined;
  if (!r) return false;
  for (const q of r.parts.keys()) if (q !== part && Array.from(walkParts(q)).includes(part)) return true;
  return false;
}

/** The entity text of a part, with replaced parts written as their replacements (RFC 2046 5.1.1 boundaries). */
export function serializePart(p: MimePart, replaced: ReadonlyMap<MimePart, string>): string {
  const r = replaced.get(p);
  if (r !== undefined) return r;
  return `${p.headers.map((h) => `${h.raw}\r\n`).join('')}\r\n${serializeBody(p, replaced)}`;
}

function serializeBody(p: MimePart, replaced: ReadonlyMap<MimePart, string>): string {
  if (p.embedded) return serializePart(p.embedded.root, replaced);
  if (p.children.length === 0 || !p.params.boundary) return p.body;
  const delim = `--${p.params.boundary}`;
  // The reader keeps preamble and epilogue as joined lines: whether there was a line at all shows in the body.
  const lines = p.body.startsWith(delim) ? [] : [p.preamble];
  for (const c of p.children) lines.push(delim, serializePart(c, replaced));
  lines.push(`${delim}--`);
  if (!/--[ \t]*$/.test(p.body)) lines.push(p.epilogue);
  return lines.join('\r\n');
}
