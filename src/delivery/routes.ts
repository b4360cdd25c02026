/**
 * Where a recipient's mail goes (docs/delivery.md, "Routing"): the gateway
 * a script chose for it, else the route of its domain's `Domain` scope,
 * else the top-level one; then the next hops of that route. A gateway
 * (configured, or chosen by the operator's script) is reached
 * wherever it points; MX hosts come from the recipient domain's DNS, which
 * strangers control, so they are found by the CBV engine's
 * resolver (MX order, implicit MX, null MX: RFC 5321 5.1, RFC 7505) and
 * pass its target guard (no private, loopback or reserved address unless
 * allow-listed).
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';
import { checkTarget, type CidrList, parseCidrs } from '../cbv/guard.js';
import { NextHopResolver } from '../cbv/resolver.js';
import type { DeliveryConfig, DeliveryRoute, Gateway } from '../config/index.js';
import type { Reply } from '../session/reply.js';

/** One destination: what concurrency is counted against and what one delivery attempt goes to. */
export interface Destination {
  /** `maildir`, `gateway:<method>:<host>:<port>`, or `mx:<domain>`. */
  key: string;
  route: DeliveryRoute;
  /** The recipient domain (for MX look-ups). */
  domain: string;
  /** The gateway is a script's (ec_set_routing_gateway), not the configuration's. */
  scripted?: true;
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase().replace(/\.$/, '');
}

/**
 * The destination of a recipient: its domain's route, or the gateway a
 * script chose for it (ec_set_routing_gateway), which replaces that route
 * as a Domain scope's `Gateway` would (3-reference-conf-ref-gateway.md:
 * mail is "actually sent to the gateway"). A script's gateway is spoken to
 * in SMTP, with the top-level TLS, Max_Outbound_Connections and
 * Remote_SMTP_Port, and is counted as a destination of its own.
 */
export function destinationFor(address: string, config: DeliveryConfig, scripted?: Gateway): Destination {
  const domain = domainOf(address);
  if (scripted) {
    const route: DeliveryRoute = { ...config.defaultRoute, method: 'smtp', gateway: scripted };
    return { key: `gateway:smtp:${scripted.host}:${scripted.port ?? route.smtpPort}`, route, domain, scripted: true };
  }
  // Own keys only: a worker's share of the limits (queue-shards.ts) rebuilds `domains` as a plain object, where
  // `constructor` or `__proto__` would be found on Object.prototype, a "route" with no limit whose attempt never starts.
  const route = Object.hasOwn(config.domains, domain) ? config.domains[domain]! : config.defaultRoute;
  if (route.method === 'maildir') return { key: 'maildir', route, domain };
  if (route.gateway) {
    const port = route.gateway.port ?? (route.method === 'lmtp' ? route.lmtpPort : route.smtpPort);
    return { key: `gateway:${route.method}:${route.gateway.host}:${port}`, route, domain };
  }
  return { key: `mx:${domain}`, route, domain };
}

export interface Target {
  /** Host name (or address) for logs, Remote-MTA and TLS SNI. */
  name: string;
  address: string;
  port: number;
}

export type TargetsResult = { ok: true; targets: Target[] } | { ok: false; permanent: boolean; reply: Reply };

const fail = (permanent: boolean, code: number, enhanced: string, text: string): TargetsResult => ({ ok: false, permanent, reply: { code, enhanced, text } });

/** Resolves destinations to addresses to connect to. */
export class NextHops {
  private resolver!: NextHopResolver;
  private plain!: Resolver;
  private allow: CidrList = [];
  /** mail_loop's use_ip: this server itself, as addresses and listening ports; undefined when not checked. */
  private self: { addresses: Set<string>; ports: Set<number> } | undefined;

  constructor(config: DeliveryConfig) {
    this.configure(config);
  }

  configure(config: DeliveryConfig): void {
    const timeoutMs = 5000;
    this.resolver = new NextHopResolver({ servers: config.dnsServers, timeoutMs, tries: 2, random: Math.random });
    this.plain = new Resolver({ timeout: timeoutMs, tries: 2 });
    if (config.dnsServers.length) this.plain.setServers(config.dnsServers);
    this.allow = parseCidrs(config.allowTargets);
    // The machine's addresses when the configuration is read, as Momentum resolves them when it starts.
    this.self = config.selfPorts?.length ? { addresses: ownAddresses(), ports: new Set(config.selfPorts) } : undefined;
  }

  /**
   * A delivery to this server itself would come straight back: the loop
   * RFC 5321 6.3 warns of. Refused before any connection, as Postfix does
   * ("loops back to myself"); a next hop on this machine at another port
   * (a local MTA) is not this server.
   */
  private loops(targets: Target[], what: string): TargetsResult {
    const self = this.self;
    if (!self) return { ok: true, targets };
    const others = targets.filter((t) => !(self.ports.has(t.port) && self.addresses.has(normal(t.address))));
    if (others.length) return { ok: true, targets: others };
    return fail(true, 554, '5.4.6', `mail for ${what} loops back to this server`);
  }

  async targets(dest: Destination): Promise<TargetsResult> {
    const { route } = dest;
    if (route.gateway) {
      const port = route.gateway.port ?? (route.method === 'lmtp' ? route.lmtpPort : route.smtpPort);
      const host = route.gateway.host;
      if (isIP(host)) return this.loops([{ name: host, address: host, port }], `gateway ${host}`);
      const addresses = await this.addresses(host);
      // sieve-ref-ec-set-routing-gateway.md: a script's gateway may be "a hostname that resolves to an A
      // record, or a domain name which resolves to one or more MX records"; the Gateway option names a host.
      const none = () => fail(false, 451, '4.4.3', `gateway ${host}: no address found`);
      if (!addresses.length && dest.scripted) {
        // A gateway that does not resolve is the configuration's fault, not the recipient's: retried, not bounced.
        const r = await this.mxTargets(host, port);
        return r.ok || r.reply.enhanced !== '5.1.2' ? r : none();
      }
      if (!addresses.length) return none();
      return this.loops(addresses.map((address) => ({ name: host, address, port })), `gateway ${host}`);
    }
    return this.mxTargets(dest.domain, route.smtpPort);
  }

  /**
   * The MX hosts of `domain` (its own address when it has none, RFC 5321
   * 5.1), at `port`, through the target guard: MX records are the domain's
   * DNS, not this configuration's, and may point anywhere.
   */
  private async mxTargets(domain: string, port: number): Promise<TargetsResult> {
    const hops = await this.resolver.nextHops(domain);
    if (!hops.ok) {
      if (hops.reason === 'null-mx') return fail(true, 556, '5.1.10', `${domain} accepts no mail (null MX, RFC 7505)`);
      if (hops.reason === 'nxdomain' || hops.reason === 'no-address') return fail(true, 550, '5.1.2', `${hops.detail}`);
      return fail(false, 451, '4.4.3', hops.detail);
    }
    const targets: Target[] = [];
    let refused = 0;
    for (const hop of hops.hops) {
      for (const address of hop.addresses) {
        if (checkTarget(address, this.allow).allowed) targets.push({ name: hop.name, address, port });
        else refused++;
      }
    }
    if (targets.length) return this.loops(targets, domain);
    if (refused) return fail(true, 550, '5.4.4', `the MX hosts of ${domain} point at addresses we do not deliver to (private, loopback or reserved)`);
    const dnsTrouble = hops.hops.some((h) => h.problem && h.problem.startsWith('dns-'));
    return dnsTrouble ? fail(false, 451, '4.4.3', `the MX hosts of ${domain} could not be resolved`) : fail(true, 550, '5.4.4', `the MX hosts of ${domain} have no usable address`);
  }

  private async addresses(host: string): Promise<string[]> {
    const [v4, v6] = await Promise.allSettled([this.plain.resolve4(host), this.plain.resolve6(host)]);
    return [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  }
}

/** Every address of this machine's interfaces, loopback included, in ipaddr.js's normal form. */
function ownAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(normal(a.address));
  return out;
}

const normal = (address: string): string => (ipaddr.isValid(address) ? ipaddr.process(address).toString() : address);
