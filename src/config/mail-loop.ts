/**
 * Momentum's mail_loop module in the configuration (3-reference-modules-
 * mail-loop.md; docs/server.md, "Mail loops"): a message with more
 * Received header fields than `max_received_headers` is answered `code`
 * at DATA (RFC 5321 6.3: counting Received fields detects loops), and with
 * `use_ip` no delivery goes to this server itself (src/delivery/routes.ts).
 * Without the scope nothing is counted, as in Momentum.
 */
import type { OptionSpec, ScopeSpec } from './schema.js';
import { opt } from './option.js';
import * as t from './values.js';
import type { ScopeInstance } from './walk.js';

export const mailLoopOptions = {
  maxReceivedHeaders: opt('max_received_headers', t.integer(1, 10000), '20', 'A message with more Received header fields than this is a suspected loop (Momentum\'s default, 20).'),
  code: opt('code', t.integer(200, 599), '554', 'The reply to such a message at DATA; a code below 400 accepts it and sets the connection variable `mail_loop_header_count` for the scripts instead.'),
  useIp: opt('use_ip', t.boolean, 'false', 'Also refuse to deliver to this server itself: a next hop at one of this machine\'s addresses on a port the server listens on (554 5.4.6, as Postfix\'s "loops back to myself").'),
};

export const mailLoopScope: ScopeSpec = {
  name: 'mail_loop', doc: 'Mail loop detection by counting Received header fields at DATA (Momentum\'s mail_loop module; docs/server.md).', repeat: 'once',
  names: { min: 0, max: 1, label: 'instance name' }, options: Object.values(mailLoopOptions), scopes: [],
};

export interface MailLoopConfig {
  maxReceivedHeaders: number;
  code: number;
  /** Deliveries to this server itself are refused (src/delivery/routes.ts). */
  useIp: boolean;
}

export function buildMailLoop(root: ScopeInstance, defaults: <T>(spec: OptionSpec<T>) => T | null): MailLoopConfig | null {
  const s = root.children.find((c) => c.valid && c.spec === mailLoopScope);
  if (!s) return null;
  const v = <T>(spec: OptionSpec<T>): T => (s.options.get(spec.name.toLowerCase())?.value as T | undefined) ?? (defaults(spec) as T);
  return { maxReceivedHeaders: v(mailLoopOptions.maxReceivedHeaders), code: v(mailLoopOptions.code), useIp: v(mailLoopOptions.useIp) };
}
