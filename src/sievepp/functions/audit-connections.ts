/**
 * Live connections from a CIDR block (sieve-ref-audit-connections-on-
 * listener.md, -on-service.md, sieve-ref-audit-service.md):
 * audit_connections_on_listener "addr/mask" counts the connections open now
 * from the block on the listener the session came in on,
 * audit_connections_on_service on every SMTP listener of the server, and
 * audit_service "SMTP" "addr/mask" is the latter ("inbound_cidr", a
 * Momentum cluster's view, is the same here: see docs/sieve-reference.md).
 * The address may be left out ("/24": the client's /24); IPv6 addresses may
 * be written in brackets. Each gives a list of one string, the count, as
 * the pages say.
 *
 * The counts are the host's (MomentumHost.liveConnections): the server's
 * per-address connection counts (src/store/connections.ts), which a
 * cluster's workers keep in their primary.
 */
import type { Bound } from '../../sieve/registry.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import { andThen } from '../../sieve/interpreter.js';
import { argString, type SieveFunction } from '../functions.js';
import { contextValue, hostOf, sessionOf } from '../host.js';
import { ipaddr } from '../ipaddr.js';

/** Momentum's other auditable services: smtp-cbv runs none of them, so none has a connection. */
const OTHER_SERVICES = new Set(['ecstream', 'control', 'ecmmove2', 'eccluster']);
const SMTP_SERVICES = new Set(['smtp', 'inbound_cidr']);

/** "addr/mask", "/mask", "addr" or "[v6]/mask" read; a string saying what is wrong otherwise. The address is undefined when left out. */
export function parseAddressMask(text: string): { address: string | undefined; mask: number | undefined } | string {
  const m = /^\s*(?:\[([^\]]*)\]|([^/\s]*))\s*(?:\/\s*([0-9]+))?\s*$/.exec(text);
  if (!m) return `'${text}' is not an address/mask such as "/24" or "192.0.2.0/24"`;
  const address = m[1] ?? (m[2] || undefined);
  const mask = m[3] === undefined ? undefined : Number(m[3]);
  if (address === undefined && mask === undefined) return `'${text}' names neither an address nor a mask`;
  if (address !== undefined && !ipaddr().isValid(address)) return `'${address}' is not an IP address`;
  const bits = address === undefined ? 128 : ipaddr().process(address).kind() === 'ipv4' ? 32 : 128;
  if (mask !== undefined && mask > bits) return `the mask /${mask} is longer than ${address === undefined ? 'an IPv6' : `the ${bits === 32 ? 'IPv4' : 'IPv6'}`} address's ${bits} bits`;
  return { address, mask };
}

/** The count for the block the argument names, as a list of one string. */
function count(b: Bound, rt: Runtime, fn: string, arg: number, on: 'listener' | 'service') {
  const parsed = parseAddressMask(argString(b, rt, arg) ?? '');
  if (typeof parsed === 'string') return rt.fail(`${fn}: ${parsed}`, b.node.pos);
  const address = parsed.address ?? contextValue(sessionOf(rt).connection, 'remote_ip') ?? '';
  if (!ipaddr().isValid(address)) return rt.fail(`${fn}: the client's address '${address}' is not an IP address`, b.node.pos);
  const bits = ipaddr().process(address).kind() === 'ipv4' ? 32 : 128;
  if ((parsed.mask ?? 0) > bits) return rt.fail(`${fn}: the mask /${parsed.mask} is longer than the client's IPv4 address's 32 bits`, b.node.pos);
  const live = hostOf(rt).liveConnections;
  if (!live) return rt.fail(`${fn}: this host counts no connections`, b.node.pos);
  const n = live.call(hostOf(rt), address, parsed.mask ?? bits, on);
  return andThen(n, (k) => (k === undefined ? rt.fail(`${fn}: this session came in on no SMTP listener`, b.node.pos) : [String(k)]));
}

/** A literal address/mask checked when the script compiles. */
function checkLiteral(fn: string, arg: number): SieveFunction['validate'] {
  return (b, v) => {
    const a = b.args[arg];
    if (a?.kind !== 'string' || typeof a.template !== 'string') return;
    const parsed = parseAddressMask(a.template);
    if (typeof parsed === 'string') v.error(a.node.pos, `${fn}: ${parsed}`);
  };
}

const ADDRESS_MASK = { name: 'address/mask', type: 'string' } as const;

const connectionsOn = (name: 'audit_connections_on_listener' | 'audit_connections_on_service', on: 'listener' | 'service'): SieveFunction => ({
  name,
  uses: { value: true },
  params: [ADDRESS_MASK],
  validate: checkLiteral(name, 0),
  call: (b, rt) => count(b, rt, name, 0, on),
});

const unknownService = (name: string) => `audit_service: '${name}' is not a service Momentum audits (SMTP, inbound_cidr, ECStream, Control, ECmmove2, ECCluster)`;

const auditService: SieveFunction = {
  name: 'audit_service',
  uses: { value: true },
  params: [{ name: 'service_name', type: 'string' }, ADDRESS_MASK],
  validate(b, v) {
    const a = b.args[0];
    if (a?.kind === 'string' && typeof a.template === 'string' && !SMTP_SERVICES.has(a.template.toLowerCase()) && !OTHER_SERVICES.has(a.template.toLowerCase())) v.error(a.node.pos, unknownService(a.template));
    checkLiteral('audit_service', 1)!(b, v);
  },
  call(b, rt) {
    const service = argString(b, rt, 0) ?? '';
    const s = service.toLowerCase();
    if (OTHER_SERVICES.has(s)) return ['0'];
    if (!SMTP_SERVICES.has(s)) return rt.fail(unknownService(service), b.node.pos);
    return count(b, rt, 'audit_service', 1, 'service');
  },
};

export const auditConnectionFunctions: SieveFunction[] = [connectionsOn('audit_connections_on_listener', 'listener'), connectionsOn('audit_connections_on_service', 'service'), auditService];
