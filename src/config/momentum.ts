/**
 * Momentum configuration that smtp-cbv reads but does not act on
 * (docs/momentum-compatibility.md): real modules, scopes and options of an
 * ecelerity.conf that have no counterpart here. They are warnings that say
 * what is ignored, so that a Momentum administrator's file loads and
 * serves; `smtp-cbv check --strict` makes them errors. A name that is not
 * Momentum's stays an error with a suggestion (a typo must not be ignored).
 */

/** Scopes (modules and their instances) of Momentum's configuration, in lower case. */
const SCOPES = new Set([
  'control_listener', 'http_listener', 'ecstream_listener', 'xmpp_listener', 'smpp_listener', 'duravip',
  'binding', 'binding_group', 'domain', 'pathway', 'pathway_group', 'host', 'threadpool', 'eventloop',
  'url_ripper', 'clamav', 'csapi', 'antivirus', 'beik', 'brightmail', 'cloudmark', 'commtouch', 'eleven', 'sophos',
  'delay_dsn', 'ec_logger', 'sievelib', 'spf_macros', 'senderid', 'ac_auth', 'auth_ds', 'inbound_audit', 'outbound_audit',
  'cidrdb', 'ds_core', 'ds_pgsql', 'ds_odbc', 'seedlist', 'fbl', 'bounce_classifier_override', 'bounce_logger',
  'mailloop', 'cluster', 'security', 'snmp', 'dkim_sign', 'domainkeys', 'adaptive', 'alerting', 'engagement_tracker',
  'persist_io', 'msgc', 'http_io', 'ecstream', 'scriptlet', 'lua', 'modules', 'webui_common', 'rest', 'exim_compat',
  'as_logger', 'custom_logger', 'paniclog', 'mainlog', 'rejectlog', 'queue', 'tls_macros', 'smtp_auth',
  // The other modules of Momentum's reference (3-reference-modules-*.md, 4/modules/), by the scope names their examples write.
  'alias', 'auth_radius', 'av_fsecure', 'bounce_classifier', 'chunk_logger', 'commtouch_ctasd', 'compress_spool', 'conntrol',
  'curfew', 'dk_sign', 'dk_validate', 'dnsbuf', 'event_hydrant', 'exim_logger', 'fingerprint', 'ha_proxy_client', 'http_logger',
  'ilf_logger', 'imageanalyzer', 'live_bounce_updates', 'msg_gen', 'msgc_client', 'msgc_server', 'msgcserver_listener', 'mxip',
  'outbound_smtp_auth', 'pe2_logger', 'pipe_io', 'pipe_transport', 'postfix_logger', 'reception_timing', 'reception_timing_logger',
  'response_transcode', 'sched', 'securecreds', 'sendmail_logger', 'smtp_auth_proxy', 'smtp_rcptto_proxy', 'spamassassin',
  'static_routes', 'statp', 'suppress_spool', 'syslog_io',
]);

/** Options Momentum allows in the listener scopes (ESMTP_Listener, Listen, Peer). */
const LISTENER_OPTIONS = new Set([
  'listen_backlog', 'tcp_recv_buffer_size', 'tcp_send_buffer_size', 'disable_nagle_algorithm', 'accept_queue_backlog',
  'events_per_iter', 'concurrency', 'pool_name', 'event_loop', 'relay_hosts', 'listener_sessions', 'service_sessions',
  'banner_hostname',
  'received_hostname', 'static_banner', 'open_relay', 'relay_for_sending_domains', 'allow_null_envelope_sender',
  'domain_for_unqualified_sender_address', 'domain_for_unqualified_recipient_addresses', 'require_ehlo',
  'tls_verified_peer_can_relay', 'tls_verify_mode', 'proxy_protocol', 'proxy_protocol_timeout', 'pathway', 'pathway_group',
  'enable_authentication', 'enable_authorization', 'authorizationparameters', 'use_ssl', 'inbound_throttle_messages',
  'inbound_throttle_connections', 'server_max_errors', 'log_transfer_errors', 'rfc2821_compliant_mailfrom',
  'allow_8bitmime', 'allow_chunking', 'validate_local_rcpt', 'hide_auth_user', 'esmtp_extension', 'tls_allow_renegotiation',
  'starttls_injection_policy', 'tls_protocols', 'allow_ip_literal', 'allow_trailing_whitespace_in_commands',
  // Real options in ESMTP_Listener and Listen; Momentum allows them in Peer too, where smtp-cbv does not act on them.
  'tls_certificate', 'tls_key', 'tls_ciphers', 'tls_client_ca',
]);

/** Options Momentum allows at the top level and in Domain scopes (and in Binding scopes, which are ignored as a whole). */
const GLOBAL_OPTIONS = new Set([
  'gateway', 'message_expiration', 'generate_bounces', 'delivery_pool', 'max_resident_active_queue_size', 'max_resident_messages',
  'keep_message_dicts_in_memory', 'debug_flags', 'spool_mode', 'spool_base',
  'max_outbound_connections', 'outbound_throttle_messages', 'outbound_throttle_connections', 'retry_interval', 'max_retries',
  'delivery_method', 'routes', 'mx_hosts', 'bounce_domains', 'bounce_pattern', 'bounce_behavior', 'opendkim_sign',
  'cluster_group', 'cluster_server', 'eventloop_count', 'crypto_engine', 'tls_certificate', 'tls_key', 'tls_ca',
  'tls_ciphers', 'tls_protocols', 'use_sendfile', 'large_message_threshold', 'growbuf_size', 'inline_transfail_processing',
  'send_8bitmime', 'smtp_pipelining', 'prohibited_hosts', 'suppress_bounces_for_null_sender', 'ec_logger', 'paniclog', 'mainlog',
  // Every other option whose page in Momentum's reference (conf-ref-*.md, 4/config/ref-*.md) names the global scope.
  '_unsafe_spool', 'adaptive_backstore_leveldb', 'adaptive_backstore_riak', 'adaptive_enabled', 'adaptive_scope',
  'address_metrics_cleanse_interval', 'address_metrics_lifetime', 'alias_schemes', 'allow_ip_literal',
  'allow_null_envelope_sender', 'allow_trailing_whitespace_in_commands', 'async_bounce_rendering', 'authorization',
  'bind_address', 'binding_auto_replumb', 'binding_auto_replumb_interval', 'binding_group', 'blackhole', 'body_timeout',
  'bounce_cache_size', 'bounce_cache_ttl', 'bounce_suppress_list', 'bounces_inline_original',
  'clear_mail_queue_maintainers', 'cluster_max_outbound_connections', 'cluster_outbound_throttle_connections',
  'cluster_outbound_throttle_messages', 'cluster_scope_max_outbound_connections', 'cluster_server_max_outbound_connections',
  'connect_timeout_to_delay', 'connection_allocation_aggressiveness', 'control_client_timeout', 'crypto_lock_method',
  'default_binding', 'default_charset', 'delay_dsn_max_retry_interval', 'delayed_binding_domain_fuzz',
  'delayed_queue_scan_interval', 'disable_nagle_algorithm', 'disk_queue_drain_rate', 'dkim', 'dns_cache_purge_interval',
  'dns_expire_interval', 'dns_failures_to_purge', 'dns_fallback_to_tcp', 'dns_max_udp_queries_per_port', 'domainkeys',
  'drop_body_after_trans_fail', 'ecstream_port', 'ecstream_timeout', 'ehlo_timeout', 'enable_fbl_header_insertion',
  'exclude_vctx', 'exclude_vctx_conn', 'exclude_vctx_mess', 'expensive_batch_assessment', 'force_fsync',
  'fully_resolve_before_smtp', 'host', 'host_failure_retry',
  'hostname', 'hot_domains', 'http_basic_auth', 'http_host', 'http_method', 'http_uri', 'http_version', 'idle_timeout',
  'inbound_throttle_messages', 'initial_hash_buckets', 'legacy_message_threshold', 'license', 'local_changes_file',
  'local_changes_only', 'log_hires_timestamp', 'mail_queue_check_vm_interval', 'mailerdaemon', 'mailfrom_timeout',
  'maintainer_pool', 'malloc2mmap_threshold', 'masterdb_file', 'match_cache_life', 'match_cache_size',
  'max_deliveries_per_connection', 'max_dns_ttl', 'max_recipients_per_batch', 'max_recipients_per_connection',
  'max_resident_active_queue', 'max_resident_transfails', 'max_timed_events_per_iter', 'mdn_failures_notify', 'memory_goal',
  'memory_hwm', 'migrate_connections_between_sibling_domains', 'mime_parse_large_messages_during_reception', 'min_dns_ttl',
  'mx_failures_fallback_to_a', 'mx_failures_to_delay', 'never_attempt_expired_messages', 'never_retry',
  'only_use_best_mx_for_relay_domains', 'pathway_group', 'pcre_cache_size', 'pcre_cache_ttl', 'permastore_interval',
  'pidfile', 'rcptto_timeout', 'relay_domains', 'require_ehlo', 'reserve_maintenance_interval', 'resolv_conf',
  'response_transcode_pattern', 'response_transcode_replace', 'rfc2821_allow_whitespace_in_envelope',
  'rfc2821_pedantic_address_rules', 'rfc2822_date_header', 'rfc2822_lone_lf_in_body', 'rfc2822_max_line_length',
  'rfc2822_max_line_length_policy', 'rfc2822_messageid_header', 'rfc2822_missing_headers', 'rfc2822_trace_headers',
  'rset_timeout', 'scheduler', 'scope_max_outbound_connections', 'server_max_file_descriptors',
  'server_reserve_outbound_connections', 'signing_stats', 'skip_hosts', 'snmp',
  'soft_bounce_drain_rate', 'spoolbase', 'ssl_lock_method', 'suspend_delivery', 'swap_out_meta_after_each_tempfail',
  'tcp_buffer_size', 'threadpool', 'timestampformat', 'tls_client_ca', 'tls_dhparams_file', 'tls_enable_dhe_ciphers',
  'tls_ifavailable_fallback', 'tls_verify', 'trace_smtp_mode', 'transfail_drain_rate', 'transform_8bitmime_content',
  'unlink_on_spool_in_failure', 'use_iflist_cache', 'use_ipv6', 'use_mmap', 'watchdog_interval', 'xclient',
]);

/** Options of Momentum's spf_v1 module that smtp-cbv does not use: the module never answers the client itself (policy scripts do). */
const SPF_OPTIONS = new Set([
  'default_rule', 'fail_fallback_string', 'softfail_fallback_string', 'nxdomain_override_string', 'temperror_override_string',
  'fail_code', 'nxdomain_code', 'pass_code', 'permerror_code', 'softfail_code', 'unknown_code',
]);

/**
 * Options of Momentum's opendkim module (4/modules/opendkim.md) without a
 * counterpart: its key cache (a key is kept a minute, src/sievepp/functions/dkim-keys.ts), and the z=, testing and
 * oversigning variants mailauth, which signs, does not write. `base_domain`
 * belongs in a `dkim_domain` scope (src/config/dkim-sign.ts), not here.
 */
const OPENDKIM_OPTIONS = new Set(['keycache_size', 'key_cache_size', 'neg_keycache_ttl', 'pos_keycache_ttl', 'copy_headers', 'testing', 'oversign_headerlist', 'skip_headerlist', 'base_domain']);

/** Options of Momentum's maildir module without a counterpart: `domain`, one domain given as often as needed (`domains` takes them all; an option given twice is an error here), and the page's `createusers` spelling of `create_users`. */
const MAILDIR_OPTIONS = new Set(['domain', 'createusers']);

/** Options of Momentum's sieve module that smtp-cbv does not use. */
const SIEVE_OPTIONS = new Set(['cache_life', 'cache_size', 'debug', 'script_timeout', 'ec_error_mode', 'pool']);

/**
 * Options of Momentum's Datasource scope (3-reference-modules-ds-core.md) without a
 * counterpart: `pool`, the Momentum thread pool that runs the queries (here
 * a thread of its own for SQLite, the thread pool for file reads); and
 * `serialized`, publishing results across a Momentum cluster. ds_ldap's
 * `connection_cache_size` and `connection_cache_life` are the schema's.
 */
const DATASOURCE_OPTIONS = new Set(['pool', 'serialized']);

/** Options of Momentum's ds_ldap module without a counterpart: `debug_level`, its LDAP library's tracing (ldap.conf's own). */
const DS_LDAP_OPTIONS = new Set(['debug_level']);

export type Where = 'root' | 'listener' | 'sieve' | 'spf_v1' | 'datasource' | 'ds_ldap' | 'opendkim' | 'maildir' | 'other';

/** Where an option or scope written in a scope of this name would be. */
export function whereOf(scopeName: string): Where {
  const n = scopeName.toLowerCase();
  if (n === '(top level)') return 'root';
  if (n === 'esmtp_listener' || n === 'listen' || n === 'peer') return 'listener';
  if (n === 'sieve') return 'sieve';
  if (n === 'spf_v1') return 'spf_v1';
  if (n === 'datasource') return 'datasource';
  if (n === 'ds_ldap') return 'ds_ldap';
  if (n === 'opendkim' || n === 'dkim_domain') return 'opendkim';
  if (n === 'maildir') return 'maildir';
  // A Domain scope takes Momentum's global options (delivery settings per domain, docs/delivery.md).
  if (n === 'domain') return 'root';
  return 'other';
}

/** A Momentum scope smtp-cbv ignores: the words of the warning, or undefined when the name is not Momentum's. */
export function ignoredScope(type: string): string | undefined {
  return SCOPES.has(type.toLowerCase()) ? `Momentum's ${type} scope is not provided by smtp-cbv: ignored, with everything inside it` : undefined;
}

/** Momentum's options without a counterpart, by where they are written. */
const IGNORED_OPTIONS: Partial<Record<Where, ReadonlySet<string>>> = {
  listener: LISTENER_OPTIONS,
  root: GLOBAL_OPTIONS,
  sieve: SIEVE_OPTIONS,
  spf_v1: SPF_OPTIONS,
  datasource: DATASOURCE_OPTIONS,
  ds_ldap: DS_LDAP_OPTIONS,
  opendkim: OPENDKIM_OPTIONS,
  maildir: MAILDIR_OPTIONS,
};

/** A Momentum option smtp-cbv ignores in this place: the warning, or undefined. */
export function ignoredOption(key: string, where: Where, label: string): string | undefined {
  const k = key.toLowerCase();
  const known = IGNORED_OPTIONS[where]?.has(k) === true || (where === 'sieve' && k.startsWith('hook:'));
  return known ? `Momentum's option '${key}' in ${label} has no effect in smtp-cbv: ignored` : undefined;
}
