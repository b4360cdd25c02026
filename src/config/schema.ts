/**
 * The configuration schema: every scope and option the loader accepts, with
 * its type, default and meaning. It is the single source for validation
 * (walk.ts), the typed model (build.ts) and the reference document
 * (docs/configuration.md, kept in step by test/config/docs.test.ts).
 *
 * Defaults are written in configuration syntax (`30`, `( )`, `"mailfrom"`) and
 * parsed by the option's own type, so a default can never disagree with what
 * a user could write, and the document shows it as the user would write it.
 */
import { type ConfScalar } from '../../grammars/ecconf.js';
import { parseCidr, parseHostPort, type ValueType } from './values.js';
import * as t from './values.js';
import { didYouMean } from './suggest.js';
import { opt } from './option.js';
import { deliveryOptions, domainScope } from './delivery.js';
import { recipientVerifyTopOptions } from './recipient-verify.js';
import { authenticationScopes } from './authentication.js';
import { mailLoopScope } from './mail-loop.js';
import { maildirModuleScope } from './maildir-module.js';
import { dkimDomainScope, dkimSignScope, opendkimSignOption } from './dkim-sign.js';
import { mailboxScope, serverMetadataOptions } from './mailboxes.js';

export interface OptionSpec<T = unknown> {
  /** The name as documented; matching is case-insensitive. */
  name: string;
  type: ValueType<T>;
  /** The default in configuration syntax, or null when unset means "none" (described in `doc`). */
  default: string | null;
  doc: string;
  required?: boolean;
}

export interface ScopeNames {
  min: number;
  max: number;
  /** What the name is, for messages and the document. */
  label: string;
  /** A problem with a name, or undefined when it is valid. */
  check?(name: ConfScalar): string | undefined;
  /** A name Momentum knows that smtp-cbv ignores: the warning; the scope is then skipped (docs/momentum-compatibility.md). */
  ignore?(name: ConfScalar): string | undefined;
}

export interface ScopeSpec {
  name: string;
  doc: string;
  names: ScopeNames;
  /** `once`: at most one per parent; `by-name`: one per distinct name. */
  repeat: 'once' | 'by-name';
  options: OptionSpec[];
  scopes: ScopeSpec[];
  /** Set when the options are the parent scope's, repeated to override them (docs list them once). */
  inheritsOptionsFrom?: string;
}

// ---------------------------------------------------------------- debug level

/** Momentum's Debug_Level takes syslog level names (or their numbers); the logger uses pino's levels. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const SYSLOG: Array<[string, LogLevel]> = [
  ['emerg', 'fatal'], ['alert', 'fatal'], ['crit', 'fatal'], ['error', 'error'],
  ['warning', 'warn'], ['notice', 'info'], ['info', 'info'], ['debug', 'debug'],
];
// Maps, not object literals: a user's text as a key must not find `constructor` or `__proto__`.
const SYSLOG_ALIASES = new Map<string, LogLevel>([['emergency', 'fatal'], ['critical', 'fatal'], ['err', 'error'], ['warn', 'warn']]);
const debugLevel: ValueType<LogLevel> = {
  label: 'syslog level name or 0-7',
  parse(v, ctx) {
    const inner = t.string.parse(v, ctx);
    if (!inner.ok) return inner;
    const text = inner.value.toLowerCase();
    const byNumber = /^[0-7]$/.test(text) ? SYSLOG[Number(text)]?.[1] : undefined;
    const level = byNumber ?? SYSLOG.find(([n]) => n === text)?.[1] ?? SYSLOG_ALIASES.get(text);
    if (level) return { ok: true, value: level };
    return { ok: false, problems: [{ message: `expected one of ${SYSLOG.map(([n]) => n).join(', ')} or 0-7`, pos: v.pos }] };
  },
};

// ---------------------------------------------------------------- smtp_cbv

const domain = t.string;

export const cbvOptions = {
  enabled: opt('Enabled', t.boolean, 'true', 'Run the probe automatically in `phase`. `false` loads the module passively: no automatic probe, but the Sieve function `smtp_callback_verify` works.'),
  debugLevel: opt('Debug_Level', debugLevel, null, "Log level for this module; unset follows `logging.level`. Momentum's names (DEBUG, INFO, NOTICE, WARNING, ERROR, CRIT...) or 0-7."),
  phase: opt('phase', t.oneOf(['mailfrom', 'rcptto'] as const), 'mailfrom', 'When the probe starts: when MAIL FROM is accepted, or at the first accepted RCPT TO.'),
  mailfrom: opt('mailfrom', t.string, '""', 'MAIL FROM of the probe; empty means the null sender `<>`.'),
  map: opt('map', t.arrayOf(domain, true), '[ ]', 'Sender domain -> domain whose MX hosts are probed instead (exact, case-insensitive match).'),
  mapSubdomains: opt('map_subdomains', t.boolean, 'false', 'Let a `map` key also match subdomains of the sender domain (the longest key wins).'),
  dnsServers: opt('dns_servers', t.listOf(t.hostPort(53)), '( )', 'DNS servers for MX and address look-ups, `ip` or `ip:port`; empty uses the system resolvers.'),
  dnsTimeout: opt('dns_timeout', t.seconds(true), '2', 'Deadline of one DNS query try.'),
  dnsTries: opt('dns_tries', t.integer(1, 10), '2', 'Tries per DNS query.'),
  port: opt('port', t.integer(1, 65535), '25', 'TCP port of the probed MX hosts.'),
  allowTargets: opt('allow_targets', t.listOf(t.cidr), '( )', 'CIDR ranges the probe may contact although they are private, loopback or reserved (the address guard refuses them otherwise).'),
  helo: opt('helo', t.string, null, 'EHLO/HELO name of the probe; unset uses the system host name.'),
  sourceAddress: opt('source_address', t.ipAddress, null, 'Local IP address probes connect from; unset lets the system choose.'),
  timeout: opt('timeout', t.seconds(true), '30', 'Overall deadline of one verification, across all hosts tried.'),
  connectTimeout: opt('connect_timeout', t.seconds(true), '5', 'Deadline for the TCP connection to one host.'),
  greetingTimeout: opt('greeting_timeout', t.seconds(true), '10', 'Deadline for the server greeting.'),
  commandTimeout: opt('command_timeout', t.seconds(true), '10', 'Deadline for the reply to each command (EHLO, STARTTLS, MAIL, RCPT).'),
  maxHosts: opt('max_hosts', t.integer(1, 20), '3', 'How many MX hosts one verification tries at most.'),
  starttls: opt('starttls', t.boolean, 'true', 'Use STARTTLS when offered (opportunistic; retried in clear if TLS fails).'),
  positiveTtl: opt('cache_positive_ttl', t.seconds(false), '86400', 'How long an accepted address is cached.'),
  negativeTtl: opt('cache_negative_ttl', t.seconds(false), '7200', 'How long a rejected address is cached.'),
  domainTtl: opt('cache_domain_ttl', t.seconds(false), '7200', 'How long per-domain facts (rejects the null sender, accepts all, no usable MX) are cached.'),
  cacheSize: opt('cache_size', t.integer(1, 10_000_000), '10000', 'Entries in the in-memory cache (with Redis: the fallback while Redis is down). Transient results are never cached.'),
  maxConcurrency: opt('max_concurrency', t.integer(1, 100000), '100', 'Probes in flight at once, in all.'),
  maxConcurrencyPerDomain: opt('max_concurrency_per_domain', t.integer(1, 100000), '10', 'Probes in flight at once to one target domain.'),
  domainRateLimit: opt('domain_rate_limit', t.integer(1, 1000000), '60', 'Probes started to one target domain per `domain_rate_interval`; over it the result is transient.'),
  domainRateInterval: opt('domain_rate_interval', t.seconds(true), '60', 'The sliding window of `domain_rate_limit`.'),
  catchAllCheck: opt('catch_all_check', t.boolean, 'false', 'Probe a random local part first and report domains that accept everything as accept-all.'),
  postmasterCheck: opt('postmaster_check', t.boolean, 'false', 'Also check that the domain accepts postmaster (cached per domain).'),
  ownDomains: opt('own_domains', t.listOf(domain), '( )', 'Our own domains: senders in them are never probed (no loops).'),
  redisUrl: opt('redis_url', t.url(['redis:', 'rediss:']), null, 'Redis URL for CBV state shared by several processes (cache, single flight, limits); overrides the `redis` scope\'s `url`. Unset: the `redis` scope, or memory.'),
};

// ---------------------------------------------------------------- sieve

/** SMTP phases that run scripts (docs/server.md, "Phases"). */
export const SIEVE_PHASES = ['connect', 'ehlo', 'mailfrom', 'rcptto', 'data', 'each_rcpt', 'spool'] as const;
export type SievePhase = (typeof SIEVE_PHASES)[number];
/** Momentum phases this product has no equivalent for: named in the error instead of "unknown". */
const UNSUPPORTED_PHASES = ['accept', 'set_binding'];
export const SCRIPT_SLOTS = SIEVE_PHASES.flatMap((p) => [`${p}_phase1`, `${p}_phase2`]);

export function parseScriptSlot(name: string): { phase: SievePhase; order: 1 | 2 } | undefined {
  const m = /^(.*)_phase([12])$/.exec(name.toLowerCase());
  const phase = SIEVE_PHASES.find((p) => p === m?.[1]);
  return phase && m ? { phase, order: m[2] === '1' ? 1 : 2 } : undefined;
}

/** A Momentum phase smtp-cbv has no counterpart for: its script is skipped with a warning. */
function ignoredScriptSlot(name: ConfScalar): string | undefined {
  const m = /^(.*)_phase[12]$/.exec(name.text.toLowerCase());
  return m && UNSUPPORTED_PHASES.includes(m[1] ?? '') ? `phase '${m[1]}' is a Momentum phase smtp-cbv does not run: the script "${name.text}" is ignored` : undefined;
}

function checkScriptSlot(name: ConfScalar): string | undefined {
  if (parseScriptSlot(name.text) || ignoredScriptSlot(name)) return undefined;
  return `unknown script phase '${name.text}'${didYouMean(name.text, SCRIPT_SLOTS)} (expected <phase>_phase1 or <phase>_phase2, phase one of ${SIEVE_PHASES.join(', ')})`;
}

export const sieveOptions = {
  enabled: opt('Enabled', t.boolean, 'true', 'Run the scripts. `false` keeps the configuration but runs no script (every phase accepts).'),
  debugLevel: opt('Debug_Level', debugLevel, null, 'Log level for script runs; unset follows `logging.level`. Same values as in `smtp_cbv`.'),
  runtimeError: opt('runtime_error', t.oneOf(['fail', 'continue'] as const), 'fail', 'What a script runtime error does: `fail` answers `451 4.3.0`, `continue` ignores it.'),
  dialect: opt('dialect', t.oneOf(['momentum', 'rfc'] as const), 'momentum', '`momentum` accepts Sieve++; `rfc` refuses Sieve++ syntax (standard Sieve only).'),
};
/** The 2.x form names scripts as options: `mailfrom_phase1 = "/path"`. */
export const legacyScriptOptions: OptionSpec<string>[] = SCRIPT_SLOTS.map((slot) =>
  opt(slot, t.filePath, null, `2.x form of \`script "${slot}" { source = ... }\`.`),
);
export const scriptOptions = {
  source: opt('source', t.filePath, null, 'The Sieve script file, relative to the file this option is written in.', true),
};

// ---------------------------------------------------------------- listener

export const listenerOptions = {
  maxMessageSize: opt('max_message_size', t.size, '10m', 'Largest message accepted (SIZE), in bytes; k, m, g suffixes are binary multiples.'),
  tlsKey: opt('tls_key', t.filePath, null, 'PEM private key for STARTTLS; with `tls_certificate`, STARTTLS is offered.'),
  tlsCertificate: opt('tls_certificate', t.filePath, null, 'PEM certificate chain for STARTTLS.'),
  maxConnectionsPerIp: opt('max_connections_per_ip', t.integer(1, 100000), '20', 'Concurrent connections from one client IP; the next one is refused with 421.'),
  maxRecipientsPerMessage: opt('max_recipients_per_message', t.integer(0, 1000000), '1000', 'Recipients accepted in one transaction; each RCPT TO past it gets 452 4.5.3 (RFC 5321 section 4.5.3.1.10) and the client sends the rest in another. 0: no limit.'),
  maxRecipientsPerConnection: opt('max_recipients_per_connection', t.integer(0, 100000000), '0', 'Recipients accepted on one connection; past it each RCPT TO gets 452 4.5.3 and the next MAIL FROM 421. 0 (the default): no limit.'),
  maxReceptionsPerConnection: opt('max_receptions_per_connection', t.integer(0, 100000000), '0', 'Messages accepted on one connection; the next MAIL FROM gets 421 and the connection closes. 0 (the default): no limit.'),
  hostname: opt('hostname', t.string, null, 'Host name in the greeting and EHLO reply; unset uses the system host name.'),
  greeting: opt('greeting', t.string, null, 'Text of the 220 greeting after the host name; unset says `ESMTP smtp-cbv`.'),
  context: opt('context', t.arrayOf(t.string, false), '[ ]', 'Connection context variables set for these connections, e.g. `__bypass_smtp_cbv = "true"`.'),
  enable: opt('Enable', t.boolean, 'true', "`false` keeps the Listen in the file but does not listen (Momentum's Enable)."),
  idleTime: opt('Idle_Time', t.seconds(true), null, 'Idle time after which a client connection is closed; unset uses `socket_timeout`.'),
  smtpExtensions: opt('SMTP_Extensions', t.listOf(t.string), null, 'ESMTP extensions offered, e.g. `( "ENHANCEDSTATUSCODES" "STARTTLS" "AUTH LOGIN" )`; unset offers the defaults.'),
  tlsCiphers: opt('TLS_Ciphers', t.string, null, 'OpenSSL cipher list for STARTTLS; unset uses Node\'s defaults.'),
  tlsClientCa: opt('TLS_Client_CA', t.filePath, null, 'PEM bundle of the CAs whose client certificates STARTTLS asks for.'),
  authLoginParameters: opt('AuthLoginParameters', t.arrayOf(t.string, false), null, 'AUTH LOGIN settings (`uri`, `log_authentication`), as in Momentum.'),
  authPlainParameters: opt('AuthPlainParameters', t.arrayOf(t.string, false), null, 'AUTH PLAIN settings (`uri`, `log_authentication`).'),
  authDigestMd5Parameters: opt('AuthDigestMD5Parameters', t.arrayOf(t.string, false), null, 'AUTH DIGEST-MD5 settings (`uri`, `realm`).'),
  authCramMd5Parameters: opt('AuthCramMD5Parameters', t.arrayOf(t.string, false), null, 'AUTH CRAM-MD5 settings (`uri`).'),
};
/** A Peer's limit: unset, the Listen's applies (Momentum allows these three in Peer too). */
const peerLimit = (name: string, what: string) => opt(name, t.integer(0, 100000000), null, `${what} for these clients (0: no limit); unset uses the Listen's.`);
export const peerOptions = {
  context: listenerOptions.context,
  idleTime: listenerOptions.idleTime,
  smtpExtensions: listenerOptions.smtpExtensions,
  maxRecipientsPerMessage: peerLimit('max_recipients_per_message', 'Recipients accepted in one transaction'),
  maxRecipientsPerConnection: peerLimit('max_recipients_per_connection', 'Recipients accepted on one connection'),
  maxReceptionsPerConnection: peerLimit('max_receptions_per_connection', 'Messages accepted on one connection'),
};
/** Server-wide settings: only in ESMTP_Listener, since one server process serves every Listen address. */
export const serverOptions = {
  maxTarpit: opt('max_tarpit', t.seconds(false), '30', 'Longest delay a policy may ask for (`ec_tarpit`); longer requests are cut to this.'),
  socketTimeout: opt('socket_timeout', t.seconds(true), '300', 'Idle time after which a client connection is closed (RFC 5321 section 4.5.3.2.7: at least 5 minutes).'),
  greetPause: opt('greet_pause', t.seconds(false), '0', 'Wait this long before the greeting; a client that talks first is refused with 554 (like Postfix postscreen\'s pregreet test). 0 greets at once.'),
  maxConnections: opt('max_connections', t.integer(1, 1000000), '1000', 'Connections open at once on each listener, all workers together; the next one is refused with 421.'),
  maxMessageMemory: opt('max_message_memory', t.size, '512m', 'Bytes of messages held in memory at once, all sessions (and workers) together; past it a DATA is answered 452 4.3.1.'),
  messageSpoolThreshold: opt('message_spool_threshold', t.size, '128k', 'Messages larger than this are written to the spool\'s tmp/ as they arrive and read from there, instead of held in memory (docs/server.md, "Messages on disk").'),
  dataTimeout: opt('data_timeout', t.seconds(true), '600', 'Longest a message transfer (DATA to the final dot) may take; then 451 and the connection closes (RFC 5321 section 4.5.3.2.6: 10 minutes).'),
};

// ---------------------------------------------------------------- beside an MTA (docs/postfix.md)

/** Options of a front door that serves an MTA (the Postfix policy service, the milter). */
function besideMtaOptions(listen: string, deadline: string, mtaTimeout: string) {
  return {
    listen: opt('listen', t.hostPort(), `"${listen}"`, 'Address and port to listen on; `--listen` overrides it.'),
    deadline: opt('deadline', t.seconds(true), deadline, `Longest time to an answer, CBV wait and tarpit included; keep it under Postfix's ${mtaTimeout}. The smtp_cbv \`timeout\` is cut to it.`),
    maxConnections: opt('max_connections', t.integer(1, 100000), '100', 'Connections from the MTA open at once, all workers together; more are closed.'),
    context: listenerOptions.context,
  };
}
export const policyListenerOptions = besideMtaOptions('127.0.0.1:10040', '90', '`smtpd_policy_service_timeout` (100 s)');
export const milterListenerOptions = {
  ...besideMtaOptions('127.0.0.1:10041', '25', '`milter_command_timeout` (30 s)'),
  maxMessageSize: opt('max_message_size', t.size, '10m', 'Largest message the data phase reads; a larger one is refused with 552.'),
  maxMessageMemory: opt('max_message_memory', t.size, '512m', 'Bytes of messages held in memory at once, all milter connections (and workers) together; past it the end of a message is answered 452 4.3.1.'),
  messageSpoolThreshold: opt('message_spool_threshold', t.size, '128k', 'Messages larger than this are written to `spool_dir`/milter/ as Postfix sends them and read from there, instead of held in memory; each is removed when its data phase ends (docs/postfix.md).'),
};

// ---------------------------------------------------------------- logging and global

export const loggingOptions = {
  level: opt('level', t.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const), 'info', 'Least severe level that is logged.'),
  pretty: opt('pretty', t.boolean, 'false', 'Human-readable log lines instead of JSON lines.'),
};
export const globalOptions = {
  spoolDir: opt('spool_dir', t.filePath, './var/spool', 'Where accepted messages are written, relative to the configuration file.'),
  workers: opt('workers', t.integer(1, 64), '1', 'Worker processes sharing the listeners (node:cluster), for `serve`, `milter` and `policy`; `--workers` overrides it. See docs/operations.md.'),
  policyRejectionBounces: opt('generate_bounces_for_multi_recipient_policy_rejections', t.boolean, 'true', "Momentum's option of that name (3-reference-conf-ref-generate-bounces-for-multi-recipient-policy-rejections.md): when the `each_rcpt` scripts refuse some but not all of a message's recipients, a DSN for the refused ones goes to the envelope sender (never to the null sender); `false` sends none. A message every recipient refused is refused at the final dot instead (docs/server.md, \"Phases\")."),
  sivThrottleCacheSize: opt('siv_throttle_cache_size', t.integer(1, 1_000_000), '1000', 'Most named throttles (`ec_throttle_create`) kept at once (by the primary of a cluster, and by each worker for itself), and as many shared throttles (`ec_shared_throttle_create`) in the server (Redis, when configured, keeps every one of those until it expires); creating one more drops the least recently used. Read at start.'),
};

// ---------------------------------------------------------------- operations (docs/operations.md)

export const redisOptions = {
  url: opt('url', t.url(['redis:', 'rediss:']), '"redis://127.0.0.1:6379"', 'The Redis that processes share CBV state through (cache, single flight, limits, per-IP connection counts), and the shared throttles (`ec_shared_throttle_*`).'),
  required: opt('required', t.boolean, 'false', 'Report not ready (`/readyz`) while Redis is unreachable. Sessions are answered either way, from local state.'),
  commandTimeout: opt('command_timeout', t.seconds(true), '1', 'A Redis command slower than this counts as a failure: that check falls back to local state.'),
  keyPrefix: opt('key_prefix', t.string, '"smtp-cbv:"', 'Prefix of every key and channel, so several deployments can share one Redis.'),
};
export const metricsOptions = {
  listen: opt('listen', t.hostPort(9325), '"127.0.0.1:9325"', 'Address of the HTTP listener for `/metrics` (Prometheus text), `/healthz` and `/readyz`.'),
};

// ---------------------------------------------------------------- scopes

const single = (label: string, check?: ScopeNames['check']): ScopeNames => ({ min: 1, max: 1, label, check });
const optionalName: ScopeNames = { min: 0, max: 1, label: 'instance name' };

export const peerScope: ScopeSpec = {
  name: 'Peer', doc: 'Settings for clients in a CIDR range (or one address); the most specific range wins.', repeat: 'by-name',
  names: single('CIDR range', (n) => (parseCidr(n.text) ? undefined : `expected a CIDR range such as 10.0.0.0/8, found '${n.text}'`)),
  options: Object.values(peerOptions), scopes: [],
};
export const listenScope: ScopeSpec = {
  name: 'Listen', doc: 'One listening address; its options override those of ESMTP_Listener.', repeat: 'by-name',
  names: single('address:port', (n) => (parseHostPort(n.text) ? undefined : `expected an IP address and port such as 127.0.0.1:2525 or ":25", found '${n.text}'`)),
  options: Object.values(listenerOptions), scopes: [peerScope], inheritsOptionsFrom: 'ESMTP_Listener',
};
export const listenerScope: ScopeSpec = {
  name: 'ESMTP_Listener', doc: 'The SMTP server. Without this scope it listens on 127.0.0.1:2525.', repeat: 'once',
  names: { min: 0, max: 0, label: 'none' }, options: [...Object.values(listenerOptions), ...Object.values(serverOptions)], scopes: [listenScope, peerScope],
};
export const scriptScope: ScopeSpec = {
  name: 'script', doc: 'A script bound to a phase: the name is `<phase>_phase1` (site) or `<phase>_phase2` (runs when phase 1 ends without a terminal action).', repeat: 'by-name',
  names: { ...single('phase', checkScriptSlot), ignore: ignoredScriptSlot }, options: Object.values(scriptOptions), scopes: [],
};
export const hookOptions = {
  source: opt('source', t.filePath, null, 'The Sieve script file.'),
  script: opt('script', t.filePath, null, 'The same as `source` (Momentum accepts both).'),
  async: opt('async', t.boolean, 'false', 'Momentum runs the hook in a thread pool; kept for compatibility.'),
  pool: opt('pool', t.string, null, 'The thread pool of an asynchronous hook; kept for compatibility.'),
  return: opt('return', t.string, null, "The hook's return value; kept for compatibility."),
};
export const hookScope: ScopeSpec = {
  name: 'hook', doc: "A script bound to a Momentum hook (an internal event such as `core_final_validation`). smtp-cbv has no such events: the scope loads with a warning and its script does not run.", repeat: 'by-name',
  names: single('hook name'), options: Object.values(hookOptions), scopes: [],
};
export const sieveScope: ScopeSpec = {
  name: 'sieve', doc: 'The Sieve policy module.', repeat: 'once', names: optionalName,
  options: [...Object.values(sieveOptions), ...legacyScriptOptions], scopes: [scriptScope, hookScope],
};

// ---------------------------------------------------------------- datasources and CIDR lists

export const datasourceOptions = {
  uri: opt('uri', t.listOf(t.string), null, 'The driver and where the data is: `( "sqlite:/path/to/db" )` or `( "csv:" )`.', true),
  cacheSize: opt('cache_size', t.integer(1, 10_000_000), '1000', 'Query results kept in the cache.'),
  cacheLife: opt('cache_life', t.seconds(false), '3600', 'How long a cached result is used.'),
  maxRows: opt('max_rows', t.integer(-1, 10_000_000), '100', 'Rows one query returns at most; `-1` for all.'),
  noCache: opt('no_cache', t.boolean, 'false', 'Cache nothing: every query goes to the datasource.'),
  assumeCharset: opt('assume_charset', t.charset, null, 'The character set of data whose driver cannot tell it: every file of a `csv:` datasource is read in it. Unset: a file that is valid UTF-8 is read as UTF-8, any other as ISO-8859-1 (what Momentum assumes).'),
  // ds_ldap's options (4/modules/ds-core.md, "LDAP"); the page gives no defaults: these keep what the driver did before.
  connectionCacheSize: opt('connection_cache_size', t.integer(0, 10_000), '16', 'An `ldap:` datasource: connections kept open to be used again, the least recently used closed first when another is opened; `0` keeps none.'),
  connectionCacheLife: opt('connection_cache_life', t.seconds(true), null, 'An `ldap:` datasource: how long a connection is kept after it was opened; then it is closed, and the next query opens another. Unset: for as long as it serves.'),
};
/**
 * Momentum's ds_ldap module scope (4/modules/ds-core.md, "LDAP"), where its
 * page lists the connection cache options: here they are the default of
 * every ldap: datasource that does not set its own.
 */
export const dsLdapOptions = {
  connectionCacheSize: opt('connection_cache_size', t.integer(0, 10_000), '16', 'Connections each `ldap:`/`ldaps:` datasource keeps open, unless its Datasource scope sets its own.'),
  connectionCacheLife: opt('connection_cache_life', t.seconds(true), null, 'How long each `ldap:`/`ldaps:` datasource keeps a connection after opening it, unless its Datasource scope sets its own. Unset: for as long as it serves.'),
};
export const dsLdapScope: ScopeSpec = {
  name: 'ds_ldap', doc: "Momentum's LDAP module: defaults for every ldap: datasource.", repeat: 'once', names: { min: 0, max: 0, label: 'none' },
  options: Object.values(dsLdapOptions), scopes: [],
};
export const datasourceScope: ScopeSpec = {
  name: 'Datasource', doc: 'A named datasource for `ds_fetch` and friends, `define_cidr` and `ec_include`.', repeat: 'by-name',
  names: single('datasource name'), options: Object.values(datasourceOptions), scopes: [],
};
export const cidrListOptions = {
  blocks: opt('blocks', t.listOf(t.string), '( )', 'CIDR blocks (or single addresses) that `check_cidr` finds; `query_cidr` gives `true`.'),
  values: opt('values', t.arrayOf(t.string, false), '[ ]', 'CIDR block -> value that `query_cidr` gives, e.g. `[ "10.0.0.0/8" = "127.0.0.2" ]`.'),
};
export const cidrListScope: ScopeSpec = {
  name: 'cidr_list', doc: 'A named CIDR table for `query_cidr` and `check_cidr`, without a datasource.', repeat: 'by-name',
  names: single('table name'), options: Object.values(cidrListOptions), scopes: [],
};
export const listOptions = {
  values: opt('values', t.listOf(t.string), '( )', 'Members written in the configuration: addresses or domains.'),
  file: opt('file', t.filePath, null, 'A file of further members, one a line, relative to the configuration file.'),
};
export const listScope: ScopeSpec = {
  name: 'List', doc: 'An external list for Sieve extlists (RFC 6134): addresses or domains a script tests with `:list`.', repeat: 'by-name',
  names: single('list name (URI)'), options: Object.values(listOptions), scopes: [],
};
export const cbvScope: ScopeSpec = {
  name: 'smtp_cbv', doc: 'SMTP callback verification of the envelope sender.', repeat: 'once', names: optionalName,
  options: Object.values(cbvOptions), scopes: [],
};
export const loggingScope: ScopeSpec = {
  name: 'logging', doc: 'Log output (pino).', repeat: 'once', names: { min: 0, max: 0, label: 'none' },
  options: Object.values(loggingOptions), scopes: [],
};
export const redisScope: ScopeSpec = {
  name: 'redis', doc: 'Shared state for several processes or hosts (docs/operations.md).', repeat: 'once', names: { min: 0, max: 0, label: 'none' },
  options: Object.values(redisOptions), scopes: [],
};
export const metricsScope: ScopeSpec = {
  name: 'metrics', doc: 'Prometheus metrics and health checks on an HTTP listener of their own (docs/operations.md).', repeat: 'once', names: { min: 0, max: 0, label: 'none' },
  options: Object.values(metricsOptions), scopes: [],
};
export const policyListenerScope: ScopeSpec = {
  name: 'Policy_Listener', doc: 'The Postfix policy service (`smtp-cbv policy`).', repeat: 'once', names: { min: 0, max: 0, label: 'none' },
  options: Object.values(policyListenerOptions), scopes: [],
};
export const milterListenerScope: ScopeSpec = {
  name: 'Milter_Listener', doc: 'The milter (`smtp-cbv milter`).', repeat: 'once', names: { min: 0, max: 0, label: 'none' },
  options: Object.values(milterListenerOptions), scopes: [],
};
export const rootScope: ScopeSpec = {
  name: '(top level)', doc: 'Options outside any scope.', repeat: 'once', names: { min: 0, max: 0, label: 'none' },
  options: [...Object.values(globalOptions), ...deliveryOptions, ...recipientVerifyTopOptions, ...Object.values(serverMetadataOptions), opendkimSignOption], scopes: [listenerScope, cbvScope, sieveScope, loggingScope, policyListenerScope, milterListenerScope, datasourceScope, dsLdapScope, cidrListScope, listScope, mailboxScope, domainScope, redisScope, metricsScope, mailLoopScope, dkimSignScope, maildirModuleScope, ...authenticationScopes],
};

/** The 2.x module form `Validate validate/<module> [instance] { ... }` stands for `<module> [instance] { ... }`. */
export const VALIDATE_MODULES = new Map<string, ScopeSpec>([['validate/sieve', sieveScope], ['validate/smtp_cbv', cbvScope]]);

/** Every scope, outermost first, for the document and its test. */
export const allScopes: ScopeSpec[] = [rootScope, listenerScope, listenScope, peerScope, cbvScope, sieveScope, scriptScope, hookScope, loggingScope, policyListenerScope, milterListenerScope, datasourceScope, dsLdapScope, cidrListScope, listScope, mailboxScope, domainScope, redisScope, metricsScope, mailLoopScope, dkimSignScope, dkimDomainScope, maildirModuleScope, ...authenticationScopes];
