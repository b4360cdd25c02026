/**
 * RFC 5322 section 3.4 address lists, as the address test reads them
 * (RFC 5228 2.7.4): display names, comments and group names are not part of
 * an address; groups contribute their members (`undisclosed-recipients:;`
 * contributes none); quoted local parts are unquoted.
 *
 * A header that does not parse as an address list is one invalid address:
 * :all sees its text, :localpart and :domain never match it (RFC 5228 2.7.4,
 * "If an address is not syntactically valid, then it will not be matched by
 * tests specifying :localpart or :domain").
 */

export interface Address {
  local: string;
  domain: string;
}

type Tok = { t: 'atom' | 'qs' | 'dl' | 'sp'; v: string };

const SPECIALS = '()<>[]:;@\\,."';
/** Characters that end an atom: specials and white space, as a table by char code. */
const BREAKS = new Uint8Array(128);
for (const c of `${SPECIALS} \t\r\n`) BREAKS[c.charCodeAt(0)] = 1;
const isBreak = (code: number): boolean => code < 128 && BREAKS[code] === 1;
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/;

function tokenize(s: string): Tok[] | null {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') i++;
    else if (c === '(') {
      // Comments nest and may contain quoted pairs (RFC 5322 3.2.2).
      let depth = 0;
      for (; i < s.length; i++) {
        if (s[i] === '\\') i++;
        else if (s[i] === '(') depth++;
        else if (s[i] === ')' && --depth === 0) break;
      }
      if (depth !== 0) return null;
      i++;
    } else if (c === '"') {
      // The runs between quoted pairs (RFC 5322 3.2.4) are copied whole: a
      // character at a time, a quoted display name of megabytes took 0.7 s.
      let v = '';
      let run = ++i;
      for (; i < s.length && s.charCodeAt(i) !== 0x22; i++) {
        if (s.charCodeAt(i) === 0x5c) {
          v += s.slice(run, i);
          run = ++i; // the quoted character, whatever it is, starts the next run
        }
      }
      if (i >= s.length) return null;
      v += s.slice(run, i);
      i++;
      out.push({ t: 'qs', v });
    } else if (c === '[') {
      const end = s.indexOf(']', i);
      if (end < 0) return null;
      out.push({ t: 'dl', v: s.slice(i, end + 1) });
      i = end + 1;
    } else if (isBreak(s.charCodeAt(i))) {
      out.push({ t: 'sp', v: c });
      i++;
    } else {
      let j = i + 1;
      while (j < s.length && !isBreak(s.charCodeAt(j))) j++;
      out.push({ t: 'atom', v: s.slice(i, j) });
      i = j;
    }
  }
  return out;
}

class Parser {
  i = 0;
  constructor(private toks: Tok[]) {}
  peek(): Tok | undefined {
    return this.toks[this.i];
  }
  isSp(v: string): boolean {
    const t = this.toks[this.i];
    return t !== undefined && t.t === 'sp' && t.v === v;
  }
  get done(): boolean {
    return this.i >= this.toks.length;
  }

  /** address-list, allowing empty members (RFC 5322 4.4 obs-addr-list). */
  list(): Address[] | null {
    const out: Address[] = [];
    while (!this.done) {
      if (this.isSp(',')) {
        this.i++;
        continue;
      }
      if (!this.address(out)) return null;
      if (!this.done && !this.isSp(',')) return null;
    }
    return out;
  }

  address(out: Address[]): boolean {
    const start = this.i;
    // Skip a phrase (display name or, if '@' follows, a local part).
    while (!this.done) {
      const t = this.peek()!;
      if (t.t === 'atom' || t.t === 'qs' || (t.t === 'sp' && t.v === '.')) this.i++;
      else break;
    }
    if (this.isSp(':')) {
      // A group: members up to ';' (RFC 5322 3.4).
      this.i++;
      while (!this.done && !this.isSp(';')) {
        if (this.isSp(',')) {
          this.i++;
          continue;
        }
        const member: Address[] = [];
        if (!this.address(member) || member.length === 0) return false;
        out.push(...member);
      }
      if (!this.isSp(';')) return false;
      this.i++;
      return true;
    }
    if (this.isSp('<')) {
      this.i++;
      // Obsolete route: "@a,@b:" (RFC 5322 4.4).
      if (this.isSp('@')) {
        while (!this.done && !this.isSp(':')) this.i++;
        if (!this.isSp(':')) return false;
        this.i++;
      }
      const a = this.addrSpec(this.i);
      if (!a || !this.isSp('>')) return false;
      this.i++;
      out.push(a);
      return true;
    }
    const a = this.addrSpec(start);
    if (!a) return false;
    out.push(a);
    return true;
  }

  addrSpec(from: number): Address | null {
    this.i = from;
    // Words and dots: leading, trailing and doubled dots are tolerated, as
    // Pigeonhole does for the local parts some mobile carriers send.
    let local = '';
    let words = 0;
    let afterWord = false;
    for (;;) {
      const t = this.peek();
      if (t && t.t === 'sp' && t.v === '.') {
        local += '.';
        afterWord = false;
      } else if (t && (t.t === 'qs' || (t.t === 'atom' && ATEXT.test(t.v)))) {
        // Two words need a dot between them ("a b@c" is not an address).
        if (afterWord) return null;
        local += t.v;
        words++;
        afterWord = true;
      } else break;
      this.i++;
    }
    if (words === 0 || !this.isSp('@')) return null;
    this.i++;
    const domain = this.domain();
    if (domain === null) return null;
    return { local, domain };
  }

  domain(): string | null {
    const t = this.peek();
    if (t?.t === 'dl') {
      this.i++;
      return t.v;
    }
    const labels: string[] = [];
    for (;;) {
      const a = this.peek();
      if (!a || a.t !== 'atom' || !ATEXT.test(a.v)) return null;
      labels.push(a.v);
      this.i++;
      if (!this.isSp('.')) break;
      this.i++;
    }
    return labels.join('.');
  }
}

/** Parses a header value as an address list; null when it is not one. */
export function parseAddressList(value: string): Address[] | null {
  const toks = tokenize(value);
  if (!toks) return null;
  return new Parser(toks).list();
}

/**
 * Parses an SMTP path (RFC 5321 4.1.2) as given in the envelope: `<a@b>` or
 * `a@b`, with an optional source route (`<@x,@y:a@b>`, ignored) and, as
 * Pigeonhole allows, a local part alone (`<MAILER-DAEMON>`, domain "").
 * Local parts may have leading, trailing or doubled dots, as some mobile
 * carriers send. Returns null for the null path `<>` or "", undefined when
 * it does not parse.
 */
export function parseEnvelopePath(path: string): Address | null | undefined {
  let p = path.trim();
  if (p === '' || p === '<>') return null;
  if (p.startsWith('<') !== p.endsWith('>')) return undefined;
  if (p.startsWith('<')) p = p.slice(1, -1);
  const route = /^(@[^,:@]+(,@[^,:@]+)*):/.exec(p);
  if (route) {
    if (!route[1]!.split(',').every((d) => DOMAIN.test(d.slice(1)))) return undefined;
    p = p.slice(route[0].length);
  }
  let local: string;
  let rest: string;
  if (p.startsWith('"')) {
    const m = /^"((?:[^"\\]|\\.)*)"/.exec(p);
    if (!m) return undefined;
    local = m[1]!.replace(/\\(.)/g, '$1');
    rest = p.slice(m[0].length);
  } else {
    const at = p.lastIndexOf('@');
    local = at < 0 ? p : p.slice(0, at);
    rest = at < 0 ? '' : p.slice(at);
    if (!/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+$/.test(local)) return undefined;
  }
  if (rest === '') return local === '' ? undefined : { local, domain: '' };
  if (!rest.startsWith('@')) return undefined;
  const domain = rest.slice(1);
  if (!DOMAIN.test(domain) && !/^\[[^\[\]]+\]$/.test(domain)) return undefined;
  return { local, domain };
}

/** RFC 5321 4.1.2 Domain, tolerating "_" and edge hyphens as real mail does. */
const DOMAIN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** A local part as written in an address: quoted unless it is a dot-atom (RFC 5322 3.4.1). */
export function quoteLocal(local: string): string {
  return /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/.test(local) ? local : quotedString(local);
}

/** Text as an RFC 5322 3.2.4 quoted-string: in double quotes, a quote or backslash in it escaped. */
export function quotedString(text: string): string {
  return `"${text.replace(/(["\\])/g, '\\$1')}"`;
}

export function formatAddress(a: Address): string {
  return a.domain === '' ? quoteLocal(a.local) : `${quoteLocal(a.local)}@${a.domain}`;
}
