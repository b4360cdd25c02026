/**
 * The Authentication-Results header field (RFC 8601): formatting ours, and
 * reading the authserv-id of those already in a message so that any that
 * claim to be ours are removed before ours is added (RFC 8601 5: a
 * receiver MUST remove forged instances claiming its authserv-id, or a
 * sender could fake our verdicts for the mail readers behind us).
 *
 * Messages are handled as bytes (latin1 round-trips every octet), so an
 * 8-bit body or header passes through unchanged.
 */

const NAME = 'Authentication-Results';

/**
 * RFC 2045 5.1 token characters: the authserv-id is a `value` (RFC 8601
 * 2.2), a token or else a quoted-string.
 */
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;

/** The authserv-id as written in the header: a token as is, anything else quoted. */
export function formatAuthservId(id: string): string {
  return TOKEN.test(id) ? id : `"${id.replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * The field's value (after the colon): the authserv-id, then one
 * resinfo per clause, or `none` when nothing was checked (RFC 8601 2.2
 * no-result). Each clause on its own folded line (RFC 5322 2.2.3).
 */
export function authResultsValue(authservId: string, clauses: readonly string[]): string {
  const id = formatAuthservId(authservId);
  return clauses.length ? ` ${id};\r\n\t${clauses.map(oneLine).join(';\r\n\t')}` : ` ${id}; none`;
}

/** The whole field, without the trailing CRLF. */
export function authResultsField(authservId: string, clauses: readonly string[]): string {
  return `${NAME}:${authResultsValue(authservId, clauses)}`;
}

/** A clause must not carry line breaks of its own (mailauth folds long ones). */
function oneLine(clause: string): string {
  return clause.replace(/\r?\n[ \t]*/g, ' ').trim();
}

/**
 * The authserv-id of a field value, or undefined when there is none to
 * read: leading CFWS (nested comments included, RFC 5322 3.2.2) skipped,
 * then a token or a quoted-string with its escapes undone.
 */
export function parseAuthservId(value: string): string | undefined {
  let i = skipCfws(value, 0);
  if (i < 0 || i >= value.length) return undefined;
  if (value[i] === '"') {
    let out = '';
    for (i++; i < value.length; i++) {
      const c = value[i]!;
      if (c === '\\' && i + 1 < value.length) out += value[++i];
      else if (c === '"') return out;
      else if (c !== '\r' && c !== '\n') out += c;
    }
    return undefined;
  }
  let end = i;
  while (end < value.length && TOKEN.test(value[end]!)) end++;
  return end > i ? value.slice(i, end) : undefined;
}

/** The index after folding white space and comments from `i`, or -1 inside an unclosed comment. */
function skipCfws(s: string, i: number): number {
  let depth = 0;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (depth > 0) {
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
    } else if (c === '(') depth = 1;
    else if (c !== ' ' && c !== '\t' && c !== '\r' && c !== '\n') return i;
  }
  return depth > 0 ? -1 : i;
}

/**
 * The message with every Authentication-Results field claiming `authservId`
 * (compared without case: it is a host name by convention, RFC 8601 2.5)
 * removed, and `fields` (whole fields, no CRLF) added on top, in order.
 */
export function rewriteAuthHeaders(message: Buffer, authservId: string, fields: readonly string[]): Buffer {
  const text = message.toString('latin1');
  const split = headerEnd(text);
  const head = text.slice(0, split);
  const own = authservId.toLowerCase();
  // Only the fields named Authentication-Results are looked at, found by one scan for a line that starts
  // with the name: split into every field and joined again, a header section of 10 MB held the event loop
  // 90-300 ms. A field is its first line and the lines after it that start with white space (RFC 5322
  // 2.2.3); its name is what comes before its first colon, white space around it ignored.
  const dropped: Array<[number, number]> = [];
  const named = /(?:^\s*|\n)authentication-results/gi;
  for (let m = named.exec(head); m; m = named.exec(head)) {
    const start = m.index === 0 && head[0] !== '\n' ? 0 : m.index + 1;
    const end = fieldEnd(head, start);
    const field = head.slice(start, end);
    const colon = field.indexOf(':');
    const name = colon < 0 ? '' : field.slice(0, colon).trim().toLowerCase();
    if (name === 'authentication-results' && parseAuthservId(field.slice(colon + 1))?.toLowerCase() === own) dropped.push([start, end]);
    // The next field starts at `end`, after its line break: the scan resumes on that break.
    named.lastIndex = Math.max(end - 1, named.lastIndex);
  }
  const eol = /\r\n/.test(head) || !/\n/.test(head) ? '\r\n' : '\n';
  const added = fields.map((f) => (eol === '\n' ? f.replace(/\r\n/g, '\n') : f) + eol);
  const pieces: Buffer[] = [Buffer.from(added.join(''), 'latin1')];
  let at = 0;
  for (const [start, end] of dropped) {
    pieces.push(message.subarray(at, start));
    at = end;
  }
  pieces.push(message.subarray(at));
  return Buffer.concat(pieces);
}

/** Where the field starting at `start` ends: past the line break of its last line, or at the head's end. */
function fieldEnd(head: string, start: number): number {
  let i = head.indexOf('\n', start);
  while (i >= 0 && (head[i + 1] === ' ' || head[i + 1] === '\t')) i = head.indexOf('\n', i + 1);
  return i < 0 ? head.length : i + 1;
}

/** Where the header section ends: the index of the empty line's first character, or the text's end without one. */
function headerEnd(text: string): number {
  if (text.startsWith('\r\n') || text.startsWith('\n')) return 0;
  const m = /\r?\n\r?\n/.exec(text);
  return m ? m.index + (text[m.index] === '\r' ? 2 : 1) : text.length;
}
