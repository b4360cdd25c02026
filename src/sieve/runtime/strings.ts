/**
 * Strings as the interpreter sees them: encoded characters decoded at
 * compile time (RFC 5228 2.4.2.4), variable references (RFC 5229 3) parsed
 * into templates at compile time and expanded at run time.
 *
 * Encoded characters are decoded first, so that "${hex:24}{x}" spells a
 * variable reference (Pigeonhole's variables/quoting.svtest relies on it).
 */

/** A piece of a template: literal text, a named variable, or a match variable. */
export type Part = string | { name: string; ns?: string } | { match: number };

/** A constant string, or the parts to concatenate at run time. */
export type Template = string | Part[];

export interface EncodedCharError {
  message: string;
  offset: number;
}

const ENCODED = /\$\{(hex|unicode):([^}$]*)\}/gi;

/**
 * RFC 5228 2.4.2.4: `${hex: 41 42}` and `${unicode: 263a}`. A malformed
 * sequence is left as written; an invalid Unicode code point is an error.
 */
export function decodeEncodedCharacters(s: string, errors: EncodedCharError[]): string {
  if (!s.includes('${')) return s;
  return s.replace(ENCODED, (whole, kind: string, body: string, offset: number) => {
    // An empty or malformed sequence stays as written (RFC 5228 2.4.2.4).
    if (body.trim() === '') return whole;
    const items = body.trim().split(/[ \t\r\n]+/);
    if (!/^[ \t\r\n]*[0-9a-fA-F]+([ \t\r\n]+[0-9a-fA-F]+)*[ \t\r\n]*$/.test(body)) return whole;
    if (kind.toLowerCase() === 'hex') {
      if (items.some((h) => h.length % 2 !== 0)) return whole;
      const bytes = Buffer.from(items.join(''), 'hex');
      return bytes.toString('utf8');
    }
    let out = '';
    for (const h of items) {
      const cp = parseInt(h, 16);
      if (h.replace(/^0+/, '').length > 6 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        errors.push({ message: `invalid unicode character 0x${h} in encoded character substitution`, offset });
        return whole;
      }
      out += String.fromCodePoint(cp);
    }
    return out;
  });
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * RFC 5229 3: `${name}`, `${ns.name}`, `${0}`..`${9}`. Anything that is not a
 * well-formed reference stays literal text.
 */
export function parseTemplate(s: string): Template {
  if (!s.includes('${')) return s;
  const parts: Part[] = [];
  let lit = '';
  let i = 0;
  while (i < s.length) {
    const open = s.indexOf('${', i);
    if (open < 0) break;
    const close = s.indexOf('}', open + 2);
    if (close < 0) break;
    const inner = s.slice(open + 2, close);
    const ref = parseRef(inner);
    if (ref === null) {
      // Not a reference: keep "${" and look again from the next character,
      // so that "${${x}}" still finds the inner reference.
      lit += s.slice(i, open + 2);
      i = open + 2;
      continue;
    }
    lit += s.slice(i, open);
    if (lit) parts.push(lit);
    lit = '';
    parts.push(ref);
    i = close + 1;
  }
  lit += s.slice(i);
  if (lit) parts.push(lit);
  if (parts.length === 1 && typeof parts[0] === 'string') return parts[0];
  return parts.length === 0 ? '' : parts;
}

function parseRef(inner: string): Part | null {
  if (/^[0-9]+$/.test(inner)) return { match: Number(inner) };
  const pieces = inner.split('.');
  if (!pieces.every((p) => IDENT.test(p))) return null;
  if (pieces.length === 1) return { name: inner.toLowerCase() };
  return { ns: pieces.slice(0, -1).join('.').toLowerCase(), name: pieces[pieces.length - 1]!.toLowerCase() };
}

export interface Scope {
  variable(name: string, ns: string | undefined): string;
  matchValue(n: number): string;
}

export function expand(t: Template, scope: Scope): string {
  if (typeof t === 'string') return t;
  let out = '';
  for (const p of t) {
    if (typeof p === 'string') out += p;
    else if ('match' in p) out += scope.matchValue(p.match);
    else out += scope.variable(p.name, p.ns);
  }
  return out;
}

/** The first `n` UTF-16 units of `s`, one more when the last would be half of a surrogate pair. */
export function head(s: string, n: number): string {
  if (s.length <= n) return s;
  const c = s.charCodeAt(n - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? n + 1 : n);
}

/** The last `n` UTF-16 units of `s`, one more when the first would be half of a surrogate pair. */
export function tail(s: string, n: number): string {
  if (s.length <= n) return s;
  const c = s.charCodeAt(s.length - n);
  return s.slice(c >= 0xdc00 && c <= 0xdfff ? s.length - n - 1 : s.length - n);
}

/** The literal text of a template, or null when it has references. */
export function constantOf(t: Template): string | null {
  return typeof t === 'string' ? t : null;
}
