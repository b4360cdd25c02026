/**
 * What a Sieve++ run needs beyond standard Sieve: the SMTP phase, Momentum's
 * connection and message contexts (vctx_conn, vctx_mess), and host services
 * (DNS, counters, the tarpit bound, named services such as the CBV engine,
 * datasources). The Sieve core knows none of these: a host passes a
 * MomentumContext to execute() and a MomentumHost as its SieveHost, and
 * Sieve++ functions read them through `sessionOf` and `hostOf`.
 */
import type { MaildirModuleConfig } from '../config/maildir-module.js';
import type { ExecutionContext, SieveHost } from '../sieve/runtime/host.js';
import type { Runtime } from '../sieve/runtime/runtime.js';
import type { CidrTables } from './cidr.js';
import type { CounterStore } from './counters.js';
import type { Datasource, Datasources } from './datasource.js';
import type { GaugeStore } from './gauges.js';
import type { ClusterCacheStore } from './cluster-caches.js';
import type { ThrottleStore } from './throttles.js';

export interface MomentumContext extends ExecutionContext {
  /**
   * The SMTP phase the script runs in (connect, ehlo, mailfrom, rcptto, data,
   * each_rcpt, spool). Functions allowed only in some phases fail at run
   * time elsewhere; unset means "not at SMTP time", where they run.
   */
  phase?: string;
  /** `vctx_conn`: the session's own Map, so what a script sets persists for the session. */
  connectionContext?: Map<string, string>;
  /** `vctx_mess`: the transaction's Map, new for each transaction. */
  messageContext?: Map<string, string>;
  /** When the message was made (MAIL FROM accepted), ms since the epoch; unset before there is one (ec_get_message_creation_time). */
  messageCreatedAt?: number;
  /** The message's id, as the host's Received field and log lines name it; unset before there is a message (ec_get_message_id). */
  messageId?: string;
  /** Context keys only the host writes (the server's own variables): a script's write is a runtime error. */
  readOnlyContextKey?(key: string): boolean;
}

export interface MomentumHost extends SieveHost {
  /** ec_inc_counter: the host's named counters. */
  incrementCounter?(name: string, by: number): void;
  /**
   * ec_dns_lookup: the answers to a DNS query, as text (A/AAAA addresses,
   * "pref host" for MX, joined strings for TXT). An empty list for
   * NXDOMAIN/NODATA; reject (throw) for a failed lookup.
   */
  dnsLookup?(name: string, type: string): Promise<string[]>;
  /** Longest ec_tarpit delay allowed, in seconds (default 60): larger values are clamped. */
  maxTarpitSeconds?: number;
  /**
   * Services registered functions read by name (e.g. "cbv": the engine
   * smtp_callback_verify calls, see src/cbv/sieve-function.ts).
   */
  services?: Readonly<Record<string, unknown>>;
  /** ec_ip_connections/receptions/rejections, audit_series: per-IP time series (counters.ts). */
  counters?: CounterStore;
  /** The inbound audit monitors ("300,6"), which ec_ip_* select by index (default: one of 300 s x 6). */
  auditMonitors?: readonly string[];
  /** ds_fetch and friends, ec_include from a datasource (datasource.ts). */
  datasources?: Datasources;
  /** Named CIDR tables (query_cidr, check_cidr): from the configuration, and those define_cidr adds. */
  cidr?: CidrTables;
  /** define_cidr's rbldnsd files (`dstype` "rbldnsd"): a query `"file?want=txt"` gives rows of `cidr` and `str` (rbldnsd-files.ts). */
  rbldnsd?: Datasource;
  /** ec_include of a script by file name or datasource query: its text, or null when there is none. */
  loadInclude?(uri: string, args: readonly string[]): Promise<string | null> | string | null;
  /** ec_log_file: appends a line to a named log file. */
  appendLog?(file: string, line: string): void;
  /** ec_throttle_*: the named throttles, kept for the process's life (throttles.ts). */
  throttles?: ThrottleStore;
  /** ec_shared_throttle_*: the throttles counted across the cluster (Redis; without it, this server's), kept for the process's life. */
  sharedThrottles?: ThrottleStore;
  /**
   * audit_connections_on_listener / _on_service, audit_service: connections
   * open now from the block `ip/mask`, on the run's session's listener or on
   * every SMTP listener of the server; undefined for a listener when the
   * session came in on none (a milter or policy service front door).
   */
  liveConnections?(ip: string, mask: number, on: 'listener' | 'service'): number | undefined | Promise<number | undefined>;
  /** ec_gauge_cache_*: the gauge caches, kept for the process's life (gauges.ts). */
  gauges?: GaugeStore;
  /** ec_cluster_cache_*: the replicated caches, kept for the process's life (cluster-caches.ts). */
  clusterCaches?: ClusterCacheStore;
  /** ec_spool_space: the sizes of the file system that holds the spool, in octets (statfs(2): its size, what is free, what an unprivileged writer may still take). */
  spoolSpace?(): Promise<{ total: number; free: number; available: number }>;
  /**
   * ec_dkim_sign's defaults, under the names of its parameters hash
   * (functions/dkim-params.ts: selector, signing_domain, keyfile, header_canon,
   * ...): Momentum's DKIM module configuration. A script's hash overrides them.
   */
  dkim?: Readonly<Record<string, string>>;
  /**
   * Overrides of those defaults for mail whose responsible domain (its
   * From address's, lower case) is the key: Momentum's `dkim_domain` scopes.
   */
  dkimDomains?: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /**
   * The DKIM module's own signing of every message it has a key for
   * (`opendkim_sign`, with its `sign_condition`), which the host carries out
   * when it stores the message; scripts do not read it. Absent: off.
   */
  dkimAutoSign?: { readonly condition: string | null };
  /** Momentum's maildir module: where ec_maildir finds and makes a user's Maildir; absent: ec_maildir is a runtime error. */
  maildir?: Readonly<MaildirModuleConfig>;
}

interface SessionView {
  phase: string | undefined;
  connection: Map<string, string>;
  message: Map<string, string>;
  readOnly(key: string): boolean;
}

const SESSION = 'sievepp.session';

/** The run's phase and context Maps (fresh Maps when the host gave none, kept for the run). */
export function sessionOf(rt: Runtime): SessionView {
  let s = rt.state.get(SESSION) as SessionView | undefined;
  if (!s) {
    const c = rt.context as MomentumContext;
    s = { phase: c.phase, connection: c.connectionContext ?? new Map(), message: c.messageContext ?? new Map(), readOnly: (k) => c.readOnlyContextKey?.(k) ?? false };
    rt.state.set(SESSION, s);
  }
  return s;
}

export function hostOf(rt: Runtime): MomentumHost {
  return rt.host as MomentumHost;
}

/** A context key as written, else in lower case (the server stores lower-case names). */
export function contextValue(m: Map<string, string>, name: string): string | undefined {
  return m.get(name) ?? m.get(name.toLowerCase());
}
