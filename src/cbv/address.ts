/**
 * Envelope addresses as the probe needs them: split, checked so that nothing
 * can be smuggled into an SMTP command line, the domain as an A-label
 * (RFC 5890: IDNs go out in ASCII), and the `map` option applied.
 */
import { domainToASCII } from 'node:url';

export interface ParsedAddress {
  local: string;
  /** Lower case A-label form, no trailing dot. */
  domain: string;
}

/**
 * Characters that would end or split an SMTP command, or the path brackets:
 * RFC 5321 4.1.2 allows none of them unquoted, and a quoted CR/LF would be a
 * command injection, so they are refused outright.
 */
const UNSAFE = /[\u0000-\u0020\u007f<>]/;

/**
 * A host name as DNS can ask for it (RFC 1035 2.3.4 lengths; RFC 1123 2.1
 * letters, digits, hyphens; `_` tolerated as resolvers do), and not a dotted
 * IP address: a top-level label is never all digits (RFC 3696 2).
 */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Domains as given -> their A-label form: the same senders' domains come again and again. */
const aLabels = new Map<string, string>();
const A_LABEL_CACHE = 4096;

/** Normalises a domain to its lower-case A-label form; '' when it is not a valid domain. */
export function toALabel(domain: string): string {
  // Longer than any domain (RFC 1035 2.3.4): not worth remembering.
  if (domain.length > 255) return aLabel(domain);
  let a = aLabels.get(domain);
  if (a === undefined) {
    a = aLabel(domain);
    if (aLabels.size >= A_LABEL_CACHE) aLabels.clear();
    aLabels.set(domain, a);
  }
  return a;
}

function aLabel(domain: string): string {
  const d = domain.trim().replace(/\.$/, '');
  if (!d || d.startsWith('[')) return '';
  const a = domainToASCII(d).toLowerCase();
  const labels = a.split('.');
  if (a.length > 253 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels.at(-1) ?? '')) return '';
  return a;
}

/** `local@domain` (optionally in angle brackets) -> parts, or undefined if it is not one. */
export function parseAddress(input: string): ParsedAddress | undefined {
  const s = input.trim().replace(/^<(.*)>$/, '$1');
  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1) return undefined;
  const local = s.slice(0, at);
  if (UNSAFE.test(s) || local.length > 64) return undefined; // RFC 5321 4.5.3.1.1
  const domain = toALabel(s.slice(at + 1));
  if (!domain) return undefined;
  return { local, domain };
}

/** True for '', '<>' and whitespace-only input: the null sender (RFC 5321 4.5.5). */
export function isNullAddress(input: string): boolean {
  return input.trim() === '' || input.trim() === '<>';
}

export function formatAddress(a: ParsedAddress): string {
  return `${a.local}@${a.domain}`;
}

/**
 * Builds the `map` lookup (docs/cbv.md: `yahoo.net = "yahoo.com"`). Keys match the
 * sender domain exactly and case-insensitively, in A-label form. With
 * `subdomains`, `mail.yahoo.net` also matches the key `yahoo.net` (the longest
 * matching key wins); the default is exact only, as the Momentum doc reads.
 */
export function makeDomainMap(
  map: Record<string, string>,
  subdomains: boolean,
): (domain: string) => string {
  const table = new Map<string, string>();
  for (const [from, to] of Object.entries(map)) {
    const k = toALabel(from);
    const v = toALabel(to);
    if (k && v) table.set(k, v);
  }
  return (domain) => {
    const exact = table.get(domain);
    if (exact !== undefined || !subdomains) return exact ?? domain;
    const labels = domain.split('.');
    for (let i = 1; i < labels.length; i++) {
      const hit = table.get(labels.slice(i).join('.'));
      if (hit !== undefined) return hit;
    }
    return domain;
  };
}
