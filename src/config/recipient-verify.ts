/**
 * Recipient call-ahead options (docs/recipient-verification.md):
 * `Recipient_Verify` at the top level turns it on for every routed domain,
 * and in a `Domain` scope for that domain (the scope's value wins). The
 * tuning options are top-level only; they are ours, so lower case like
 * `queue_dir` (docs/configuration.md).
 *
 * No import from delivery.ts: delivery.ts lists `Recipient_Verify` among
 * the `Domain` scope's options, so this file finds those scopes by name.
 */
import type { OptionSpec } from './schema.js';
import { opt } from './option.js';
import * as t from './values.js';
import type { ScopeInstance } from './walk.js';

export interface RecipientVerifyConfig {
  /** The top-level `Recipient_Verify`: for domains whose `Domain` scope does not say. */
  enabled: boolean;
  /** Lower-case domain -> its `Domain` scope's `Recipient_Verify`, where it sets one. */
  domains: Record<string, boolean>;
  /** MAIL FROM of the call-ahead; '' is the null sender. */
  sender: string;
  timeoutMs: number;
  positiveTtlMs: number;
  negativeTtlMs: number;
  maxConcurrency: number;
  /** Call-aheads started per recipient domain per `rateIntervalMs`. */
  rateLimit: number;
  rateIntervalMs: number;
}

export const recipientVerifyOptions = {
  enabled: opt('Recipient_Verify', t.boolean, 'false', "Before answering RCPT TO, ask the recipient's next hop (its delivery route) whether it accepts the recipient: 550 if it refuses, 451 if it cannot be asked. See docs/recipient-verification.md."),
  sender: opt('recipient_verify_sender', t.string, '""', 'MAIL FROM of the call-ahead; empty means the null sender `<>`.'),
  timeout: opt('recipient_verify_timeout', t.seconds(true), '30', 'Longest one call-ahead may take, across every host tried; then 451.'),
  positiveTtl: opt('recipient_verify_positive_ttl', t.seconds(false), '86400', 'How long a recipient the next hop accepted is cached.'),
  negativeTtl: opt('recipient_verify_negative_ttl', t.seconds(false), '3600', 'How long a recipient the next hop refused is cached (a new mailbox waits at most this long).'),
  maxConcurrency: opt('recipient_verify_max_concurrency', t.integer(1, 100000), '50', 'Call-aheads in flight at once, in all; over it the answer is 451.'),
  rateLimit: opt('recipient_verify_rate_limit', t.integer(1, 1000000), '600', 'Call-aheads started per recipient domain per `recipient_verify_rate_interval`; over it the answer is 451.'),
  rateInterval: opt('recipient_verify_rate_interval', t.seconds(true), '60', 'The sliding window of `recipient_verify_rate_limit`.'),
};

/** Top-level options. */
export const recipientVerifyTopOptions: OptionSpec[] = Object.values(recipientVerifyOptions);

export function buildRecipientVerify(root: ScopeInstance, defaults: <T>(spec: OptionSpec<T>) => T | null): RecipientVerifyConfig {
  const top = <T>(spec: OptionSpec<T>): T => {
    const set = root.options.get(spec.name.toLowerCase());
    return (set ? set.value : defaults(spec)) as T;
  };
  const domains: Record<string, boolean> = Object.create(null) as Record<string, boolean>;
  for (const d of root.children) {
    if (!d.valid || d.spec.name !== 'Domain') continue;
    const set = d.options.get(recipientVerifyOptions.enabled.name.toLowerCase());
    if (set) domains[(d.names[0]?.text ?? '').toLowerCase().replace(/\.$/, '')] = set.value as boolean;
  }
  const o = recipientVerifyOptions;
  return {
    enabled: top(o.enabled),
    domains,
    sender: top(o.sender),
    timeoutMs: top(o.timeout),
    positiveTtlMs: top(o.positiveTtl),
    negativeTtlMs: top(o.negativeTtl),
    maxConcurrency: top(o.maxConcurrency),
    rateLimit: top(o.rateLimit),
    rateIntervalMs: top(o.rateInterval),
  };
}

/** Whether call-ahead is on for a recipient domain (lower case, no trailing dot). */
export function verifiesDomain(c: RecipientVerifyConfig, domain: string): boolean {
  return Object.hasOwn(c.domains, domain) ? c.domains[domain]! : c.enabled;
}
