/**
 * Delivery options, in Momentum's words (docs/delivery.md): the global
 * `Gateway`, `Delivery_Method`, `TLS`, retry and expiry options, and
 * `Domain "name" { ... }` scopes that override the routing options for one
 * recipient domain. Options Momentum has no name for are ours, lower case
 * (`queue_dir`, `delivery_dns_servers`, ...).
 *
 * Without a top-level `Gateway` or `Delivery_Method` and without any
 * `Domain` scope nothing is routed: accepted mail goes straight into the
 * local Maildir spool as before, and no queue runs.
 */
import type { Diagnostic } from '../diagnostics.js';
import { diagnosticAt } from './origin.js';
import { type Gateway, parseGateway } from './gateway.js';
import { recipientVerifyOptions } from './recipient-verify.js';
import type { OptionSpec, ScopeSpec } from './schema.js';
import type { SourceRef } from './types.js';
import { opt } from './option.js';
import * as t from './values.js';
import type { ScopeInstance } from './walk.js';

export type DeliveryMethod = 'esmtp' | 'smtp' | 'lmtp' | 'maildir';
export type TlsMode = 'no' | 'ifavailable' | 'required';
export { type Gateway, parseGateway } from './gateway.js';

/** How mail for one domain (or for every domain without a `Domain` scope) leaves. */
export interface DeliveryRoute {
  method: DeliveryMethod;
  /** Null: the domain's MX hosts (RFC 5321 5.1); ignored for `maildir`. */
  gateway: Gateway | null;
  tls: TlsMode;
  maxOutboundConnections: number;
  smtpPort: number;
  lmtpPort: number;
}

export interface DeliveryConfig {
  /** False: nothing is routed, the embedded Maildir store keeps accepted mail and no queue runs. */
  routed: boolean;
  queueDir: string;
  /** The route of domains without a `Domain` scope. */
  defaultRoute: DeliveryRoute;
  /** Lower-case domain -> its route. */
  domains: Record<string, DeliveryRoute & { declaredAt: SourceRef }>;
  retryIntervalMs: number;
  maxRetryIntervalMs: number;
  /** Each retry delay is moved by up to this fraction, either way. */
  retryJitter: number;
  messageExpirationMs: number;
  generateDelayDsn: boolean;
  delayDsnIntervalMs: number;
  /** Null: the server's host name. */
  ehloHostname: string | null;
  dnsServers: string[];
  allowTargets: string[];
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  /** Deliveries in flight at once, every destination together (Server_Max_Outbound_Connections). */
  serverMaxOutboundConnections: number;
  /**
   * mail_loop's `use_ip` (docs/server.md, "Mail loops"): the ports this
   * server listens on, to which no delivery goes at this machine's own
   * addresses. Absent: deliveries are not checked for it.
   */
  selfPorts?: number[];
}

const gatewayType: t.ValueType<Gateway> = {
  label: 'host[:port]',
  parse(v, ctx) {
    const s = t.string.parse(v, ctx);
    if (!s.ok) return s;
    const g = parseGateway(s.value);
    return g ? { ok: true, value: g } : { ok: false, problems: [{ message: `expected a host name or address with an optional port, such as mx.example.com, 192.0.2.1:2525 or [2001:db8::1]:25, found '${s.value}'`, pos: v.pos }] };
  },
};

const fraction: t.ValueType<number> = {
  label: 'number (0-1)',
  parse(v, ctx) {
    const s = t.string.parse(v, ctx);
    if (!s.ok) return s;
    const n = Number(s.value);
    return /^\d+(\.\d+)?$/.test(s.value) && n <= 1 ? { ok: true, value: n } : { ok: false, problems: [{ message: `expected a number from 0 to 1, found '${s.value}'`, pos: v.pos }] };
  },
};

/** What a `Domain` scope may override. */
export const routeOptions = {
  gateway: opt('Gateway', gatewayType, null, 'Send all mail to this host (smarthost) instead of the MX hosts; `host`, `host:port`, `[ipv6]:port`.'),
  deliveryMethod: opt('Delivery_Method', t.oneOf(['esmtp', 'smtp', 'lmtp', 'maildir'] as const), 'esmtp', 'How mail leaves: `ESMTP`/`SMTP` to the gateway or the MX hosts, `LMTP` to the gateway (RFC 2033), `maildir` into the local spool (ours).'),
  tls: opt('TLS', t.oneOf(['no', 'ifavailable', 'required'] as const), 'ifavailable', 'STARTTLS to the next hop: `ifavailable` when offered (in clear if it fails), `required` or the attempt is deferred, `no` never.'),
  maxOutboundConnections: opt('Max_Outbound_Connections', t.integer(1, 10000), '20', 'Deliveries in flight at once to one destination (one gateway, or one domain\'s MX hosts).'),
  remoteSmtpPort: opt('Remote_SMTP_Port', t.integer(1, 65535), '25', 'Port of the MX hosts, and of a gateway named without a port.'),
  lmtpPort: opt('LMTP_Port', t.integer(1, 65535), '24', 'Port of an LMTP gateway named without a port.'),
};

/** Top-level only. */
export const queueOptions = {
  queueDir: opt('queue_dir', t.filePath, './var/queue', 'Where the delivery queue keeps accepted messages until they are delivered, relative to the configuration file.'),
  retryInterval: opt('Retry_Interval', t.seconds(true), '300', 'Delay before the first retry of a deferred recipient; each further retry waits twice as long.'),
  maxRetryInterval: opt('Max_Retry_Interval', t.seconds(true), '7200', 'Longest delay between two retries.'),
  retryJitter: opt('retry_jitter', fraction, '0.2', 'Each retry delay moves by up to this fraction either way, so that deferred mail does not return all at once.'),
  messageExpiration: opt('Message_Expiration', t.seconds(true), '432000', 'A recipient still undelivered this long after acceptance expires and is bounced (5 days).'),
  generateDelayDsn: opt('Generate_Delay_DSN', t.boolean, 'false', 'Tell the sender when a message is still undelivered after `Delay_DSN_Retry_Interval` (RFC 3464 `Action: delayed`).'),
  delayDsnRetryInterval: opt('Delay_DSN_Retry_Interval', t.seconds(true), '14400', 'How long a message waits before a delay notice, and between two notices.'),
  ehloHostname: opt('EHLO_Hostname', t.string, null, 'The name we greet next hops with; unset uses the listener host name.'),
  dnsServers: opt('delivery_dns_servers', t.listOf(t.hostPort(53)), '( )', 'DNS servers for MX and gateway look-ups, `ip` or `ip:port`; empty uses the system resolvers.'),
  allowTargets: opt('delivery_allow_targets', t.listOf(t.cidr), '( )', 'CIDR ranges MX delivery may reach although they are private, loopback or reserved (a gateway is always reached).'),
  connectTimeout: opt('Connect_Timeout', t.seconds(true), '30', 'Deadline for the TCP connection and greeting of one next hop.'),
  serverMaxOutboundConnections: opt('Server_Max_Outbound_Connections', t.integer(1, 1000000), '1000', 'Deliveries in flight at once to all destinations together (each holds a connection and its entry file open); destinations waiting for a slot take turns. Momentum\'s default is 75000.'),
  responseTimeout: opt('Delivery_Response_Timeout', t.seconds(true), '300', 'Deadline for each reply of a next hop, the reply to the message included.'),
};

export const deliveryOptions: OptionSpec[] = [...Object.values(routeOptions), ...Object.values(queueOptions)];

export const domainScope: ScopeSpec = {
  name: 'Domain',
  doc: 'Routing for one recipient domain; its options override the top-level ones.',
  repeat: 'by-name',
  names: {
    min: 1,
    max: 1,
    label: 'domain',
    check: (n) => (/^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i.test(n.text) ? undefined : `expected a domain name such as example.com, found '${n.text}' (regular expression domains are not supported)`),
  },
  // Recipient_Verify: call-ahead to this domain's next hop (docs/recipient-verification.md).
  options: [...Object.values(routeOptions), recipientVerifyOptions.enabled],
  scopes: [],
};

function valueOf<T>(spec: OptionSpec<T>, scopes: Array<ScopeInstance | undefined>, fallback: T): T {
  for (const s of scopes) {
    const set = s?.options.get(spec.name.toLowerCase());
    if (set) return set.value as T;
  }
  return fallback;
}

/**
 * The delivery part of the Config. `defaults(spec)` parses a schema default
 * the way build.ts does.
 */
export function buildDelivery(root: ScopeInstance, defaults: <T>(spec: OptionSpec<T>) => T | null, diagnostics: Diagnostic[]): DeliveryConfig {
  const must = <T>(spec: OptionSpec<T>, ...scopes: Array<ScopeInstance | undefined>) => valueOf(spec, scopes, defaults(spec) as T);
  const route = (scope: ScopeInstance | undefined): DeliveryRoute => ({
    method: must(routeOptions.deliveryMethod, scope, root),
    gateway: valueOf(routeOptions.gateway, [scope, root], null as Gateway | null),
    tls: must(routeOptions.tls, scope, root),
    maxOutboundConnections: must(routeOptions.maxOutboundConnections, scope, root),
    smtpPort: must(routeOptions.remoteSmtpPort, scope, root),
    lmtpPort: must(routeOptions.lmtpPort, scope, root),
  });
  const domains: DeliveryConfig['domains'] = Object.create(null) as DeliveryConfig['domains'];
  const domainScopes = root.children.filter((c) => c.valid && c.spec === domainScope);
  for (const d of domainScopes) {
    const name = (d.names[0]?.text ?? '').toLowerCase().replace(/\.$/, '');
    const r = route(d);
    // A Domain scope's Gateway wins over the top-level one; without one of its own, the domain
    // still takes the top-level Gateway (Momentum's fallback), unless it names its own method.
    if (!d.options.has('gateway') && d.options.has('delivery_method')) r.gateway = null;
    if (r.method === 'lmtp' && !r.gateway) diagnostics.push(diagnosticAt(d.origin, d.pos, `Domain "${name}": Delivery_Method LMTP needs a Gateway (LMTP is never sent to MX hosts)`));
    domains[name] = { ...r, declaredAt: { file: d.origin.file, line: d.pos.line, column: d.pos.column } };
  }
  const defaultRoute = route(undefined);
  if (defaultRoute.method === 'lmtp' && !defaultRoute.gateway) diagnostics.push(diagnosticAt(root.origin, root.pos, 'Delivery_Method LMTP needs a Gateway (LMTP is never sent to MX hosts)'));
  const q = queueOptions;
  return {
    routed: root.options.has('gateway') || root.options.has('delivery_method') || domainScopes.length > 0,
    queueDir: must(q.queueDir, root),
    defaultRoute,
    domains,
    retryIntervalMs: must(q.retryInterval, root),
    maxRetryIntervalMs: must(q.maxRetryInterval, root),
    retryJitter: must(q.retryJitter, root),
    messageExpirationMs: must(q.messageExpiration, root),
    generateDelayDsn: must(q.generateDelayDsn, root),
    delayDsnIntervalMs: must(q.delayDsnRetryInterval, root),
    ehloHostname: valueOf(q.ehloHostname, [root], null as string | null),
    dnsServers: must(q.dnsServers, root).map((hp) => (hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`)),
    allowTargets: must(q.allowTargets, root),
    connectTimeoutMs: must(q.connectTimeout, root),
    serverMaxOutboundConnections: must(q.serverMaxOutboundConnections, root),
    responseTimeoutMs: must(q.responseTimeout, root),
  };
}
