/**
 * A gateway, as Momentum writes one (3-reference-conf-ref-gateway.md):
 * `host[:port]`, a name or an IPv4 address, or an IPv6 address in brackets.
 * The configuration's `Gateway` option and the Sieve++ function
 * ec_set_routing_gateway read it the same way. This module loads none of
 * the configuration's machinery, and ipaddr.js only when a gateway is first
 * read (sievepp/ipaddr.ts): `smtp-cbv check` loads every Sieve++ function,
 * and a check of a script that names no gateway needs neither.
 */
import { ipaddr } from '../sievepp/ipaddr.js';

export interface Gateway {
  /** A host name or an IP address (IPv6 without brackets). */
  host: string;
  /** Null: the method's port (Remote_SMTP_Port or LMTP_Port). */
  port: number | null;
}

/** `host[:port]`: a name, an IPv4 address, or an IPv6 address in brackets (Momentum's Gateway). */
export function parseGateway(text: string): Gateway | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) return undefined;
  const port = m[3] === undefined ? null : Number(m[3]);
  if (port !== null && (port < 1 || port > 65535)) return undefined;
  if (m[1] !== undefined) return ipaddr().IPv6.isValid(m[1]) ? { host: ipaddr().parse(m[1]).toString(), port } : undefined;
  const host = m[2]!.toLowerCase().replace(/\.$/, '');
  // A name: letters, digits, hyphens and dots (RFC 1123 2.1), or a dotted quad.
  if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(host)) return undefined;
  if (/^[\d.]+$/.test(host) && !ipaddr().IPv4.isValidFourPartDecimal(host)) return undefined;
  return { host, port };
}

/** The text parseGateway reads back as the same gateway. */
export function formatGateway(g: Gateway): string {
  const host = g.host.includes(':') ? `[${g.host}]` : g.host;
  return g.port === null ? host : `${host}:${g.port}`;
}
