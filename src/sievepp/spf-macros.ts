/**
 * RFC 7208 section 7 macros, which Momentum's scripts write as
 * `%{spfv1:ir}` (sieve-ecaddons.md, "SPF Macros"): a letter, an optional
 * number of parts to keep from the right, `r` to reverse, and the
 * delimiters to split on (`.` by default); the parts are joined with dots.
 */
export interface SpfFacts {
  /** The envelope sender, `local@domain` ("" for the null sender: RFC 7208 4.3 uses postmaster@helo). */
  sender: string;
  /** The client's IP address. */
  ip: string;
  /** The HELO/EHLO domain. */
  helo: string;
  /** The client's validated host name (`p`), when known. */
  ptr?: string;
  /** This host's name (`r`). */
  receiver?: string;
  /** Seconds since the epoch (`t`). */
  now: number;
}

const MACRO = /^([slodiphcrtv])([0-9]*)(r?)([.\-+,/_=]*)$/i;

/** The value of one macro letter before transformers (RFC 7208 7.2). */
function letterValue(letter: string, f: SpfFacts): string {
  const sender = f.sender || `postmaster@${f.helo}`;
  const at = sender.lastIndexOf('@');
  const v6 = f.ip.includes(':');
  switch (letter) {
    case 's':
      return sender;
    case 'l':
      return at < 0 ? 'postmaster' : sender.slice(0, at);
    case 'o':
    case 'd':
      return at < 0 ? f.helo : sender.slice(at + 1);
    case 'i':
      // RFC 7208 7.3: an IPv6 address is written as dot-separated nibbles.
      return v6 ? ipv6Nibbles(f.ip) : f.ip;
    case 'p':
      return f.ptr || 'unknown';
    case 'h':
      return f.helo;
    case 'c':
      return f.ip;
    case 'r':
      return f.receiver || 'unknown';
    case 't':
      return String(Math.floor(f.now));
    case 'v':
      return v6 ? 'ip6' : 'in-addr';
    default:
      return '';
  }
}

function ipv6Nibbles(ip: string): string {
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups
    .map((g) => g.padStart(4, '0'))
    .join('')
    .split('')
    .join('.');
}

/** Expands the part after `spfv1:`, e.g. "ir", "d2", "l1r-"; undefined when it is not a macro. */
export function expandSpfMacro(spec: string, f: SpfFacts): string | undefined {
  const m = MACRO.exec(spec.trim());
  if (!m) return undefined;
  const [, letter, digits, reverse, delimiters] = m;
  const value = letterValue(letter!.toLowerCase(), f);
  const splitOn = delimiters || '.';
  let parts = value.split(new RegExp(`[${splitOn.replace(/[-\\\]^]/g, '\\$&')}]`));
  if (reverse) parts = parts.reverse();
  if (digits) {
    const n = Number(digits);
    if (n > 0 && n < parts.length) parts = parts.slice(parts.length - n);
  }
  return parts.join('.');
}
