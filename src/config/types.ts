/**
 * The typed configuration the rest of the product reads. Every field has a
 * value (defaults applied), paths are absolute, durations are milliseconds.
 */
import type { AuthenticationConfig } from './authentication.js';
import type { MailboxesConfig } from './mailboxes.js';
import type { MailLoopConfig } from './mail-loop.js';
import type { MaildirModuleConfig } from './maildir-module.js';
import type { DeliveryConfig } from './delivery.js';
import type { RecipientVerifyConfig } from './recipient-verify.js';
import type { LogLevel, SievePhase } from './schema.js';

export type { MailboxConfig, MailboxesConfig } from './mailboxes.js';
export type { AuthenticationConfig } from './authentication.js';
export type { DeliveryConfig, DeliveryMethod, DeliveryRoute, Gateway, TlsMode } from './delivery.js';
export type { RecipientVerifyConfig } from './recipient-verify.js';

export type { LogLevel, SievePhase } from './schema.js';

/** Where something was declared, for messages that point back at the config. */
export interface SourceRef {
  file: string;
  line: number;
  column: number;
}

export interface SmtpCbvConfig {
  /** The instance name (`smtp_cbv "smtp_cbv1"`), or null when unnamed. */
  name: string | null;
  enabled: boolean;
  /** Null: follow `logging.level`. */
  debugLevel: LogLevel | null;
  phase: 'mailfrom' | 'rcptto';
  /** Probe MAIL FROM; '' is the null sender. */
  mailfrom: string;
  /** Lower-case sender domain -> domain to probe instead. */
  map: Record<string, string>;
  mapSubdomains: boolean;
  /** `ip:port` strings, as node's Resolver#setServers takes them; empty = system resolvers. */
  dnsServers: string[];
  dnsTimeoutMs: number;
  dnsTries: number;
  port: number;
  /** Normalised CIDR ranges the address guard lets through. */
  allowTargets: string[];
  helo: string | null;
  sourceAddress: string | null;
  timeoutMs: number;
  connectTimeoutMs: number;
  greetingTimeoutMs: number;
  commandTimeoutMs: number;
  maxHosts: number;
  starttls: boolean;
  cache: { positiveTtlMs: number; negativeTtlMs: number; domainTtlMs: number; size: number };
  limits: { maxConcurrency: number; maxConcurrencyPerDomain: number; domainRateLimit: number; domainRateIntervalMs: number };
  catchAllCheck: boolean;
  postmasterCheck: boolean;
  /** Lower-case domains never probed. */
  ownDomains: string[];
  redisUrl: string | null;
  declaredAt: SourceRef;
}

export interface SieveScriptRef {
  phase: SievePhase;
  /** 1 = `_phase1` (site), 2 = `_phase2` (vendor; runs when phase 1 ends without a terminal action). */
  order: 1 | 2;
  /** Absolute path of the script file. */
  path: string;
  declaredAt: SourceRef;
}

export interface SieveConfig {
  /** Null when unnamed or when the config has no sieve scope. */
  name: string | null;
  /** False: no script runs. */
  enabled: boolean;
  /** Null: follow `logging.level`. */
  debugLevel: LogLevel | null;
  runtimeError: 'fail' | 'continue';
  dialect: 'momentum' | 'rfc';
  /** In phase order, phase 1 before phase 2. */
  scripts: SieveScriptRef[];
  hooks: SieveHookRef[];
}

export interface PeerConfig {
  /** Normalised CIDR range. */
  cidr: string;
  context: Record<string, string>;
  /** Idle_Time and SMTP_Extensions for these clients; null: the listener's. */
  idleTimeMs: number | null;
  smtpExtensions: string[] | null;
  /** The limits for these clients: the Peer's own, else the Listen's (ListenerConfig.limits). */
  limits: ListenerConfig['limits'];
  declaredAt: SourceRef;
}

/** A `Datasource` scope (3-reference-modules-ds-core.md). */
export interface DatasourceConfig {
  name: string;
  uris: string[];
  cacheSize: number;
  cacheLifeMs: number;
  maxRows: number;
  noCache: boolean;
  /** `assume_charset`: the character set of data whose driver cannot tell it (a csv: file); null: UTF-8 when valid, else ISO-8859-1 (3-reference-modules-ds-core.md). */
  assumeCharset: string | null;
  /** ds_ldap's `connection_cache_size` and `connection_cache_life` (ms; null, no limit): src/sievepp/datasources/ldap-connections.ts. */
  connectionCacheSize: number;
  connectionCacheLifeMs: number | null;
  /** The configuration file's directory: relative paths in a uri resolve against it. */
  baseDir: string;
  declaredAt: SourceRef;
}

/** A `cidr_list` scope: blocks (a boolean table) and/or block -> value pairs. */
export interface CidrListConfig {
  name: string;
  blocks: string[];
  values: Record<string, string>;
  declaredAt: SourceRef;
}

/** A `List` scope: an external list for Sieve extlists (RFC 6134), read by src/policy/external-lists.ts. */
export interface ExternalListConfig {
  /** As written; the policy normalises it as Sieve does. */
  name: string;
  values: string[];
  /** Absolute path of the members file, or null. */
  file: string | null;
  declaredAt: SourceRef;
}

/** A sieve `hook` scope: loaded for compatibility, never run (Momentum's internal events do not exist here). */
export interface SieveHookRef {
  hook: string;
  path: string | null;
  declaredAt: SourceRef;
}

/** One `Listen` address, with the ESMTP_Listener options it inherits already merged. */
export interface ListenerConfig {
  host: string;
  port: number;
  maxMessageSize: number;
  tlsKey: string | null;
  tlsCertificate: string | null;
  maxConnectionsPerIp: number;
  /** Momentum's max_recipients_per_message, max_recipients_per_connection and max_receptions_per_connection (0: no limit). */
  limits: { recipientsPerMessage: number; recipientsPerConnection: number; messagesPerConnection: number };
  hostname: string | null;
  greeting: string | null;
  /** ESMTP_Listener context merged with this Listen's; peers add theirs (see peerContext). */
  context: Record<string, string>;
  peers: PeerConfig[];
  /** Idle time before the connection is closed (Idle_Time); null: the server's socket timeout. */
  idleTimeMs: number | null;
  /** ESMTP extensions to offer (SMTP_Extensions, upper case); null: the server's defaults. */
  smtpExtensions: string[] | null;
  tlsCiphers: string | null;
  tlsClientCa: string | null;
  /** AUTH mechanism settings by mechanism (LOGIN, PLAIN, DIGEST-MD5, CRAM-MD5), as Momentum's Auth*Parameters. */
  auth: Record<string, Record<string, string>>;
  declaredAt: SourceRef | null;
}

/** Settings of the whole SMTP server, from ESMTP_Listener itself (a Listen may override the first four for its address). */
export interface ServerConfig {
  hostname: string | null;
  greeting: string | null;
  maxMessageSize: number;
  maxConnectionsPerIp: number;
  maxTarpitMs: number;
  socketTimeoutMs: number;
  greetPauseMs: number;
  maxConnections: number;
  dataTimeoutMs: number;
  maxMessageMemory: number;
  messageSpoolThreshold: number;
}

/** A front door beside an MTA (docs/postfix.md): the policy service or the milter. */
export interface BesideMtaConfig {
  host: string;
  port: number;
  deadlineMs: number;
  maxConnections: number;
  context: Record<string, string>;
}

export interface Config {
  /** The top configuration file (as given). */
  file: string;
  spoolDir: string;
  /** generate_bounces_for_multi_recipient_policy_rejections: a DSN for the recipients each_rcpt refused when others were accepted (src/session/message-phases.ts). */
  policyRejectionBounces: boolean;
  /** siv_throttle_cache_size: the most named throttles kept at once (src/sievepp/throttles.ts). */
  sivThrottleCacheSize: number;
  logging: { level: LogLevel; pretty: boolean };
  server: ServerConfig;
  listeners: ListenerConfig[];
  /** Null when the configuration has no smtp_cbv scope (no callback verification). */
  smtpCbv: SmtpCbvConfig | null;
  sieve: SieveConfig;
  /** Policy_Listener (defaults when absent). */
  policy: BesideMtaConfig;
  /** Milter_Listener (defaults when absent). */
  milter: BesideMtaConfig & { maxMessageSize: number; maxMessageMemory: number; messageSpoolThreshold: number };
  datasources: DatasourceConfig[];
  cidrLists: CidrListConfig[];
  /** `List` scopes (absent in configurations built by hand: no lists). */
  externalLists?: ExternalListConfig[];
  /** Routing and the delivery queue (docs/delivery.md). */
  delivery: DeliveryConfig;
  /** Recipient call-ahead (docs/recipient-verification.md); absent in configurations built by hand: off. */
  recipientVerify?: RecipientVerifyConfig;
  /** Worker processes (docs/operations.md); absent means 1. */
  workers?: number;
  /** The `redis` scope; absent or null: no Redis unless smtp_cbv's `redis_url`. */
  redis?: RedisConfig | null;
  /** The `metrics` scope; absent or null: no metrics listener. */
  metrics?: MetricsConfig | null;
  /** spf_v1, dkim_validate, dmarc (docs/authentication.md); absent or null: nothing is checked. */
  authentication?: AuthenticationConfig | null;
  /** `Mailbox` scopes and `server_metadata` (RFC 5490, RFC 8579); absent in configurations built by hand: INBOX only, no annotations. */
  mailboxes?: MailboxesConfig;
  /** Momentum's mail_loop (docs/server.md, "Mail loops"); null: no loop detection. */
  mailLoop?: MailLoopConfig | null;
  /** The opendkim scope: ec_dkim_sign's defaults, under its parameter names (src/config/dkim-sign.ts); null without the scope. */
  dkimSign?: Record<string, string> | null;
  /** Its `dkim_domain` scopes by responsible domain (lower case): what each overrides, under the same names; null without any. */
  dkimDomains?: ReadonlyMap<string, Readonly<Record<string, string>>> | null;
  /** The module's own signing of every message (`opendkim_sign`, `sign_condition`); null when off or without the scope. */
  dkimAutoSign?: { condition: string | null } | null;
  /** Momentum's maildir module: the per-user Maildirs of ec_maildir (src/config/maildir-module.ts); null without the scope. */
  maildir?: MaildirModuleConfig | null;
}

export interface RedisConfig {
  url: string;
  required: boolean;
  commandTimeoutMs: number;
  keyPrefix: string;
}

export interface MetricsConfig {
  host: string;
  port: number;
}
