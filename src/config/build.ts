/**
 * Turns the checked scope tree (walk.ts) into the typed Config: defaults
 * applied, Listen scopes merged with the ESMTP_Listener options they inherit,
 * scripts from both the 3.x `script` scopes and the 2.x options collected in
 * phase order. The few checks that need more than one scope live here.
 */
import path from 'node:path';
import { parseEcconf } from '../../grammars/ecconf.js';
import type { Diagnostic } from '../diagnostics.js';
import { buildMailLoop, type MailLoopConfig } from './mail-loop.js';
import { buildDkimAutoSign, buildDkimDomains, buildDkimSign, dkimSignScope } from './dkim-sign.js';
import { buildMaildirModule } from './maildir-module.js';
import { type Origin, diagnosticAt, placeOf } from './origin.js';
import {
  type OptionSpec, SIEVE_PHASES, cbvOptions, cbvScope, cidrListOptions, cidrListScope, listOptions, listScope, datasourceOptions, datasourceScope, dsLdapScope, globalOptions,
  hookOptions, hookScope, legacyScriptOptions, listenScope, listenerOptions, listenerScope, peerOptions, loggingOptions, loggingScope, metricsOptions, metricsScope,
  milterListenerOptions, milterListenerScope, parseScriptSlot, peerScope, policyListenerOptions, policyListenerScope, redisOptions, redisScope,
  scriptOptions, scriptScope, serverOptions, sieveOptions, sieveScope,
} from './schema.js';
import { buildDelivery, type DeliveryConfig } from './delivery.js';
import { buildRecipientVerify } from './recipient-verify.js';
import { buildAuthentication } from './authentication.js';
import { buildMailboxes } from './mailboxes.js';
import type { BesideMtaConfig, CidrListConfig, Config, ListenerConfig, SieveConfig, SieveScriptRef, SmtpCbvConfig, SourceRef } from './types.js';
import { type HostPort, parseCidr, parseHostPort } from './values.js';
import { driverOf, unknownDriver } from '../sievepp/datasources/drivers.js';
import type { ScopeInstance } from './walk.js';

/** The listener a configuration without ESMTP_Listener gets: local only, a port that needs no privileges. */
export const DEFAULT_LISTEN: HostPort = { host: '127.0.0.1', port: 2525 };

function refOf(origin: Origin, pos: { line: number; column: number }): SourceRef {
  return { file: origin.file, line: pos.line, column: pos.column };
}

/** The defaults are schema text; parse them the way a user's value is parsed. */
function defaultOf<T>(spec: OptionSpec<T>, dir: string): T | null {
  if (spec.default === null) return null;
  const parsed = parseEcconf(`x = ${spec.default}`);
  const st = parsed.statements[0];
  if (parsed.errors.length || st?.kind !== 'option') throw new Error(`schema default of ${spec.name} does not parse`);
  const r = spec.type.parse(st.value, { dir });
  if (!r.ok) throw new Error(`schema default of ${spec.name} is not a valid ${spec.type.label}`);
  return r.value;
}

/** The value of an option: from the first of `scopes` that sets it, else the default. */
function value<T>(spec: OptionSpec<T>, dir: string, ...scopes: Array<ScopeInstance | undefined>): T | null {
  for (const s of scopes) {
    const set = s?.options.get(spec.name.toLowerCase());
    if (set) return set.value as T;
  }
  return defaultOf(spec, dir);
}
/** Same, for options whose default is never null. */
function must<T>(spec: OptionSpec<T>, dir: string, ...scopes: Array<ScopeInstance | undefined>): T {
  return value(spec, dir, ...scopes) as T;
}

/** mail_loop's use_ip: deliveries refuse this server's own listening ports at this machine's addresses (routes.ts). */
function withSelfPorts(delivery: DeliveryConfig, mailLoop: MailLoopConfig | null, listeners: ListenerConfig[]): DeliveryConfig {
  return mailLoop?.useIp ? { ...delivery, selfPorts: [...new Set(listeners.map((l) => l.port))] } : delivery;
}

/** The valid child scopes of one kind; a scope whose name was refused makes nothing (its error is reported). */
const childrenOf = (s: ScopeInstance | undefined, spec: { name: string }) => s?.children.filter((c) => c.valid && c.spec.name === spec.name) ?? [];

export function buildConfig(root: ScopeInstance, file: string, diagnostics: Diagnostic[]): Config {
  const dir = path.dirname(path.resolve(file));
  const logging = childrenOf(root, loggingScope)[0];
  const cbv = childrenOf(root, cbvScope)[0];
  const listener = childrenOf(root, listenerScope)[0];
  const dsLdap = childrenOf(root, dsLdapScope)[0];
  for (const d of childrenOf(root, datasourceScope)) warnUnknownDriver(d, dir, diagnostics);
  const listeners = buildListeners(listener, dir, diagnostics);
  const mailLoop = buildMailLoop(root, (spec) => defaultOf(spec, dir));
  return {
    file,
    spoolDir: must(globalOptions.spoolDir, dir, root),
    sivThrottleCacheSize: must(globalOptions.sivThrottleCacheSize, dir, root),
    policyRejectionBounces: must(globalOptions.policyRejectionBounces, dir, root),
    logging: { level: must(loggingOptions.level, dir, logging), pretty: must(loggingOptions.pretty, dir, logging) },
    server: {
      hostname: value(listenerOptions.hostname, dir, listener),
      greeting: value(listenerOptions.greeting, dir, listener),
      maxMessageSize: must(listenerOptions.maxMessageSize, dir, listener),
      maxConnectionsPerIp: must(listenerOptions.maxConnectionsPerIp, dir, listener),
      maxTarpitMs: must(serverOptions.maxTarpit, dir, listener),
      socketTimeoutMs: must(serverOptions.socketTimeout, dir, listener),
      greetPauseMs: must(serverOptions.greetPause, dir, listener),
      maxConnections: must(serverOptions.maxConnections, dir, listener),
      dataTimeoutMs: must(serverOptions.dataTimeout, dir, listener),
      maxMessageMemory: must(serverOptions.maxMessageMemory, dir, listener),
      messageSpoolThreshold: must(serverOptions.messageSpoolThreshold, dir, listener),
    },
    listeners,
    smtpCbv: cbv ? buildCbv(cbv, dir) : null,
    sieve: buildSieve(childrenOf(root, sieveScope)[0], dir, diagnostics),
    policy: buildBesideMta(policyListenerOptions, childrenOf(root, policyListenerScope)[0], dir),
    milter: {
      ...buildBesideMta(milterListenerOptions, childrenOf(root, milterListenerScope)[0], dir),
      maxMessageSize: must(milterListenerOptions.maxMessageSize, dir, childrenOf(root, milterListenerScope)[0]),
      maxMessageMemory: must(milterListenerOptions.maxMessageMemory, dir, childrenOf(root, milterListenerScope)[0]),
      messageSpoolThreshold: must(milterListenerOptions.messageSpoolThreshold, dir, childrenOf(root, milterListenerScope)[0]),
    },
    datasources: childrenOf(root, datasourceScope).map((d) => ({
      name: d.names[0]?.text ?? '',
      uris: must(datasourceOptions.uri, dir, d),
      cacheSize: must(datasourceOptions.cacheSize, dir, d),
      cacheLifeMs: must(datasourceOptions.noCache, dir, d) ? 0 : must(datasourceOptions.cacheLife, dir, d),
      maxRows: must(datasourceOptions.maxRows, dir, d),
      noCache: must(datasourceOptions.noCache, dir, d),
      assumeCharset: value(datasourceOptions.assumeCharset, dir, d),
      // Its own, else ds_ldap's (the module's defaults for every LDAP datasource), else the option's default.
      connectionCacheSize: must(datasourceOptions.connectionCacheSize, dir, d, dsLdap),
      connectionCacheLifeMs: value(datasourceOptions.connectionCacheLife, dir, d, dsLdap),
      baseDir: path.dirname(d.origin.file),
      declaredAt: refOf(d.origin, d.pos),
    })),
    cidrLists: childrenOf(root, cidrListScope).map((c) => buildCidrList(c, dir, diagnostics)),
    externalLists: childrenOf(root, listScope).map((l) => ({
      name: l.names[0]?.text ?? '',
      values: must(listOptions.values, dir, l),
      file: must(listOptions.file, dir, l),
      declaredAt: refOf(l.origin, l.pos),
    })),
    delivery: withSelfPorts(buildDelivery(root, (spec) => defaultOf(spec, dir), diagnostics), mailLoop, listeners),
    recipientVerify: buildRecipientVerify(root, (spec) => defaultOf(spec, dir)),
    workers: must(globalOptions.workers, dir, root),
    redis: buildRedis(childrenOf(root, redisScope)[0], dir),
    metrics: buildMetrics(childrenOf(root, metricsScope)[0], dir),
    authentication: buildAuthentication(root, (spec) => defaultOf(spec, dir)),
    mailboxes: buildMailboxes(root, (spec) => defaultOf(spec, dir), (s, message) => diagnostics.push(diagnosticAt(s.origin, s.pos, message, 'warning'))),
    mailLoop,
    dkimSign: buildDkimSign(root, (spec) => defaultOf(spec, dir)),
    dkimDomains: buildDkimDomains(root),
    dkimAutoSign: autoSigning(root, dir, diagnostics),
    maildir: buildMaildirModule(root, (spec) => defaultOf(spec, dir), (s, message) => diagnostics.push(diagnosticAt(s.origin, s.pos, message, 'warning'))),
  };
}

/** The opendkim module's own signing; a warning when it would sign mail from anyone (src/session/dkim-auto.ts). */
function autoSigning(root: ScopeInstance, dir: string, diagnostics: Diagnostic[]): Config['dkimAutoSign'] {
  const auto = buildDkimAutoSign(root, (spec) => defaultOf(spec, dir));
  const s = childrenOf(root, dkimSignScope)[0];
  if (auto && auto.condition === null && s) {
    diagnostics.push(diagnosticAt(s.origin, s.pos, 'opendkim signs every accepted message whose From domain has a key, mail from outside included (opendkim_sign is on by default): set sign_condition (such as "auth_user") or opendkim_sign = false', 'warning'));
  }
  return auto;
}

function buildRedis(s: ScopeInstance | undefined, dir: string): Config['redis'] {
  if (!s) return null;
  const o = redisOptions;
  return { url: must(o.url, dir, s), required: must(o.required, dir, s), commandTimeoutMs: must(o.commandTimeout, dir, s), keyPrefix: must(o.keyPrefix, dir, s) };
}

function buildMetrics(s: ScopeInstance | undefined, dir: string): Config['metrics'] {
  if (!s) return null;
  const { host, port } = must(metricsOptions.listen, dir, s);
  return { host, port };
}

function buildBesideMta(o: typeof policyListenerOptions, s: ScopeInstance | undefined, dir: string): BesideMtaConfig {
  const listen = must(o.listen, dir, s);
  return { host: listen.host, port: listen.port, deadlineMs: must(o.deadline, dir, s), maxConnections: must(o.maxConnections, dir, s), context: must(o.context, dir, s) };
}

/**
 * A Datasource whose driver smtp-cbv lacks still loads (the rest of the
 * policy runs; a query of it fails at run time), but `check`, a dry run
 * and `serve` all say so where the scope is declared.
 */
function warnUnknownDriver(d: ScopeInstance, dir: string, diagnostics: Diagnostic[]): void {
  const uri = value(datasourceOptions.uri, dir, d)?.[0];
  const unknown = uri === undefined ? undefined : unknownDriver(uri);
  if (unknown) diagnostics.push(diagnosticAt(d.origin, d.pos, `Datasource "${d.names[0]?.text ?? ''}": ${unknown}; scripts that query it fail`, 'warning'));
  // ds_ldap's connection cache options mean nothing to a driver that keeps no connections.
  if (uri === undefined || unknown || /^ldaps?$/.test(driverOf(uri))) return;
  for (const spec of [datasourceOptions.connectionCacheSize, datasourceOptions.connectionCacheLife]) {
    const set = d.options.get(spec.name);
    if (set) diagnostics.push(diagnosticAt(set.origin, set.pos, `option '${spec.name}' in Datasource "${d.names[0]?.text ?? ''}" has no effect: only the ldap: driver keeps connections`, 'warning'));
  }
}

function buildCidrList(c: ScopeInstance, dir: string, diagnostics: Diagnostic[]): CidrListConfig {
  const blocks = must(cidrListOptions.blocks, dir, c);
  const values = must(cidrListOptions.values, dir, c);
  for (const b of [...blocks, ...Object.keys(values)]) {
    if (!parseCidr(b)) diagnostics.push(diagnosticAt(c.origin, c.pos, `cidr_list "${c.names[0]?.text ?? ''}": '${b}' is not a CIDR block such as 10.0.0.0/8`));
  }
  return { name: c.names[0]?.text ?? '', blocks, values, declaredAt: refOf(c.origin, c.pos) };
}

/** Auth*Parameters by the mechanism they configure. */
const AUTH_MECHANISMS: Array<[keyof typeof listenerOptions, string]> = [
  ['authLoginParameters', 'LOGIN'],
  ['authPlainParameters', 'PLAIN'],
  ['authDigestMd5Parameters', 'DIGEST-MD5'],
  ['authCramMd5Parameters', 'CRAM-MD5'],
];

function buildListeners(listener: ScopeInstance | undefined, dir: string, diagnostics: Diagnostic[]): ListenerConfig[] {
  const o = listenerOptions;
  // A Peer's own limit, else its Listen's, else ESMTP_Listener's, else the default.
  const limitsOf = (peer: ScopeInstance | undefined, listen: ScopeInstance | undefined): ListenerConfig['limits'] => ({
    recipientsPerMessage: value(peerOptions.maxRecipientsPerMessage, dir, peer) ?? must(o.maxRecipientsPerMessage, dir, listen, listener),
    recipientsPerConnection: value(peerOptions.maxRecipientsPerConnection, dir, peer) ?? must(o.maxRecipientsPerConnection, dir, listen, listener),
    messagesPerConnection: value(peerOptions.maxReceptionsPerConnection, dir, peer) ?? must(o.maxReceptionsPerConnection, dir, listen, listener),
  });
  const make = (address: HostPort, listen: ScopeInstance | undefined): ListenerConfig => ({
    host: address.host,
    port: address.port,
    maxMessageSize: must(o.maxMessageSize, dir, listen, listener),
    tlsKey: value(o.tlsKey, dir, listen, listener),
    tlsCertificate: value(o.tlsCertificate, dir, listen, listener),
    maxConnectionsPerIp: must(o.maxConnectionsPerIp, dir, listen, listener),
    limits: limitsOf(undefined, listen),
    hostname: value(o.hostname, dir, listen, listener),
    greeting: value(o.greeting, dir, listen, listener),
    // Context merges key by key: a Listen adds to the listener's variables rather than replacing them all.
    context: { ...must(o.context, dir, listener), ...(listen ? must(o.context, dir, listen) : {}) },
    // Momentum allows Peer in ESMTP_Listener too: those apply to every Listen, after the Listen's own.
    peers: [...childrenOf(listen, peerScope), ...childrenOf(listener, peerScope)].map((p) => ({
      cidr: parseCidr(p.names[0]?.text ?? '') ?? '',
      context: must(o.context, dir, p),
      idleTimeMs: value(o.idleTime, dir, p),
      smtpExtensions: value(o.smtpExtensions, dir, p)?.map((e) => e.toUpperCase()) ?? null,
      limits: limitsOf(p, listen),
      declaredAt: refOf(p.origin, p.pos),
    })),
    idleTimeMs: value(o.idleTime, dir, listen, listener),
    smtpExtensions: value(o.smtpExtensions, dir, listen, listener)?.map((e) => e.toUpperCase()) ?? null,
    tlsCiphers: value(o.tlsCiphers, dir, listen, listener),
    tlsClientCa: value(o.tlsClientCa, dir, listen, listener),
    auth: Object.fromEntries(
      AUTH_MECHANISMS.flatMap(([key, mechanism]) => {
        const v = value(o[key] as OptionSpec<Record<string, string>>, dir, listen, listener);
        return v ? [[mechanism, v]] : [];
      }),
    ),
    declaredAt: listen ? refOf(listen.origin, listen.pos) : null,
  });
  if (!listener) return [make(DEFAULT_LISTEN, undefined)];

  const listens = childrenOf(listener, listenScope);
  if (!listener.children.some((c) => c.spec === listenScope)) {
    // Momentum's own examples set listener options without a Listen (ref-idle-time.md): they load, on the safe default address.
    diagnostics.push(
      diagnosticAt(listener.origin, listener.pos, `ESMTP_Listener has no Listen scope: listening on ${DEFAULT_LISTEN.host}:${DEFAULT_LISTEN.port}; add one such as Listen "127.0.0.1:2525" { }`, 'warning'),
    );
    return [make(DEFAULT_LISTEN, undefined)];
  }
  const seen = new Map<string, ScopeInstance>();
  const out: ListenerConfig[] = [];
  for (const listen of listens) {
    const address = parseHostPort(listen.names[0]?.text ?? '');
    if (!address) continue; // the walk reported it
    const key = `${address.host}:${address.port}`;
    const first = seen.get(key);
    if (first) {
      diagnostics.push(diagnosticAt(listen.origin, listen.pos, `duplicate Listen address ${key} (first at ${placeOf(first.origin, first.pos)})`));
      continue;
    }
    seen.set(key, listen);
    // `Enable = false` keeps the Listen in the file without listening (Momentum's Enable).
    if (!must(o.enable, dir, listen, listener)) continue;
    const l = make(address, listen);
    // A key without a certificate (or the reverse) cannot offer STARTTLS: say so rather than serve clear text silently.
    if ((l.tlsKey === null) !== (l.tlsCertificate === null)) {
      const missing = l.tlsKey === null ? 'tls_key' : 'tls_certificate';
      diagnostics.push(diagnosticAt(listen.origin, listen.pos, `missing required option '${missing}' for Listen "${key}": STARTTLS needs both tls_key and tls_certificate`));
    }
    out.push(l);
  }
  return out;
}

function buildCbv(s: ScopeInstance, dir: string): SmtpCbvConfig {
  const o = cbvOptions;
  const v = <T>(spec: OptionSpec<T>) => value(spec, dir, s);
  const m = <T>(spec: OptionSpec<T>) => must(spec, dir, s);
  // fromEntries defines own properties: a key such as `__proto__` stays a key.
  const map = Object.fromEntries(Object.entries(m(o.map)).map(([from, to]) => [from.toLowerCase(), to.toLowerCase()]));
  return {
    name: s.names[0]?.text ?? null,
    enabled: m(o.enabled),
    debugLevel: v(o.debugLevel),
    phase: m(o.phase),
    mailfrom: m(o.mailfrom),
    map,
    mapSubdomains: m(o.mapSubdomains),
    dnsServers: m(o.dnsServers).map((hp) => (hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`)),
    dnsTimeoutMs: m(o.dnsTimeout),
    dnsTries: m(o.dnsTries),
    port: m(o.port),
    allowTargets: m(o.allowTargets),
    helo: v(o.helo),
    sourceAddress: v(o.sourceAddress),
    timeoutMs: m(o.timeout),
    connectTimeoutMs: m(o.connectTimeout),
    greetingTimeoutMs: m(o.greetingTimeout),
    commandTimeoutMs: m(o.commandTimeout),
    maxHosts: m(o.maxHosts),
    starttls: m(o.starttls),
    cache: { positiveTtlMs: m(o.positiveTtl), negativeTtlMs: m(o.negativeTtl), domainTtlMs: m(o.domainTtl), size: m(o.cacheSize) },
    limits: {
      maxConcurrency: m(o.maxConcurrency),
      maxConcurrencyPerDomain: m(o.maxConcurrencyPerDomain),
      domainRateLimit: m(o.domainRateLimit),
      domainRateIntervalMs: m(o.domainRateInterval),
    },
    catchAllCheck: m(o.catchAllCheck),
    postmasterCheck: m(o.postmasterCheck),
    ownDomains: m(o.ownDomains).map((d) => d.toLowerCase()),
    redisUrl: v(o.redisUrl),
    declaredAt: refOf(s.origin, s.pos),
  };
}

function buildSieve(s: ScopeInstance | undefined, dir: string, diagnostics: Diagnostic[]): SieveConfig {
  const scripts: SieveScriptRef[] = [];
  const bySlot = new Map<string, SourceRef>();
  const add = (slot: string, file: string, at: SourceRef, origin: Origin, pos: { line: number; column: number; offset: number }) => {
    const parsed = parseScriptSlot(slot);
    if (!parsed) return;
    const key = `${parsed.phase}_phase${parsed.order}`;
    const first = bySlot.get(key);
    if (first) {
      diagnostics.push(diagnosticAt(origin, pos, `duplicate script for ${key} (first at ${first.file}:${first.line}:${first.column})`));
      return;
    }
    bySlot.set(key, at);
    scripts.push({ ...parsed, path: file, declaredAt: at });
  };
  for (const legacy of legacyScriptOptions) {
    const set = s?.options.get(legacy.name.toLowerCase());
    if (set) add(legacy.name, set.value as string, refOf(set.origin, set.pos), set.origin, set.pos);
  }
  for (const script of childrenOf(s, scriptScope)) {
    const source = script.options.get(scriptOptions.source.name);
    const slot = script.names[0];
    if (source && slot) add(slot.text, source.value as string, refOf(source.origin, source.pos), script.origin, script.pos);
  }
  scripts.sort((a, b) => SIEVE_PHASES.indexOf(a.phase) - SIEVE_PHASES.indexOf(b.phase) || a.order - b.order);
  const hooks = childrenOf(s, hookScope).map((h) => {
    const name = h.names[0]?.text ?? '';
    diagnostics.push(diagnosticAt(h.origin, h.pos, `sieve hook "${name}" is a Momentum event smtp-cbv does not have: its script does not run`, 'warning'));
    return { hook: name, path: value(hookOptions.source, dir, h) ?? value(hookOptions.script, dir, h), declaredAt: refOf(h.origin, h.pos) };
  });
  return {
    name: s?.names[0]?.text ?? null,
    enabled: must(sieveOptions.enabled, dir, s),
    debugLevel: value(sieveOptions.debugLevel, dir, s),
    runtimeError: must(sieveOptions.runtimeError, dir, s),
    dialect: must(sieveOptions.dialect, dir, s),
    scripts,
    hooks,
  };
}
