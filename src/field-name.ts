/**
 * The name of the header field whose line starts at `pos` in a header
 * section held as octets (RFC 5322 2.2: a field is `name ":" body`; a line
 * that starts with white space continues the field before it, and so has
 * no name of its own). In lower case, with white space before the colon
 * dropped (RFC 5322 4.5.2's obsolete syntax, which parsers accept).
 * Looked for in the line's first 64 octets only: a search past a line
 * without a colon would make a scan of every line quadratic.
 */
export function fieldNameAt(head: Buffer, pos: number, end: number): string | undefined {
  const c = head[pos];
  if (c === 0x20 || c === 0x09) return undefined;
  const limit = Math.min(end, pos + 64);
  for (let i = pos; i < limit; i++) if (head[i] === 0x3a) return i > pos ? head.toString('latin1', pos, i).replace(/[ \t]+$/, '').toLowerCase() : undefined;
  return undefined;
}
