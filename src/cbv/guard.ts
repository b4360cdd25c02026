/**
 * The target guard: which IP addresses a probe may connect to.
 *
 * A CBV engine connects wherever a sender's DNS points, and senders are
 * strangers: without a guard, a forged sender domain whose MX resolves to
 * 127.0.0.1, 10.0.0.5 or 169.254.169.254 turns us into a port scanner of our
 * own network (SSRF). Only global unicast addresses pass, unless an operator
 * allow-lists a range (tests allow-list 127.0.0.0/8).
 *
 * The engine resolves each MX name once, vets the addresses here and connects
 * to the vetted address itself, never to the name, so that a second lookup
 * cannot return something else (DNS rebinding).
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** ipaddr.js range names, plus 'invalid' for text that is not an IP address. */
export type AddressClass = string;

/**
 * The range an address belongs to. `unicast` is the only class a probe may
 * reach without an allow-list entry. IPv4-mapped IPv6 (::ffff:a.b.c.d) is
 * classified by its IPv4 address. ipaddr.js names the documentation ranges
 * (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20) and the
 * benchmarking and IETF ranges `reserved`; 6to4, Teredo and NAT64 prefixes
 * (which embed an IPv4 address that could be private) keep their own names and
 * are refused too.
 */
export function classifyAddress(ip: string): AddressClass {
  if (!ipaddr.isValid(ip) || isIP(ip) === 0) return 'invalid';
  let addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  }
  return addr.range();
}

export type CidrList = Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;

/** Parses `--allow-target` CIDRs (a bare address counts as /32 or /128); throws on bad input. */
export function parseCidrs(cidrs: readonly string[]): CidrList {
  return cidrs.map((c) => {
    if (c.includes('/')) return ipaddr.parseCIDR(c);
    const a = ipaddr.parse(c);
    return [a, a.kind() === 'ipv4' ? 32 : 128];
  });
}

function inList(ip: string, list: CidrList): boolean {
  let addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  }
  return list.some(([range, bits]) => addr.kind() === range.kind() && addr.match(range, bits));
}

export type GuardDecision = { allowed: true; class: AddressClass } | { allowed: false; class: AddressClass };

/** May a probe connect to `ip`? Global unicast, or inside an allow-listed CIDR. */
export function checkTarget(ip: string, allow: CidrList): GuardDecision {
  const cls = classifyAddress(ip);
  if (cls === 'invalid') return { allowed: false, class: cls };
  if (cls === 'unicast' || inList(ip, allow)) return { allowed: true, class: cls };
  return { allowed: false, class: cls };
}

/**
 * True when an MX exchange is an address literal rather than a host name.
 * RFC 5321 5.1 requires the MX to name a host; RFC 7505 and common practice
 * treat `10 1.2.3.4` as a misconfiguration, and following it would let DNS
 * point a probe anywhere without even an A record to vet. Skipped whatever the
 * allow-list says.
 */
export function isAddressLiteralName(name: string): boolean {
  const n = name.replace(/\.$/, '');
  return isIP(n) !== 0 || n.startsWith('[') || /^\d+(\.\d+){3}$/.test(n);
}
