/**
 * Momentum's maildir module in the configuration (3-reference-modules-
 * maildir.md, 4/modules/maildir.md): the per-user Maildirs under `basedir`
 * (docs/delivery.md, "Per-user Maildirs") that `ec_maildir` stores a
 * message in, and that the module itself delivers to for the domains it is
 * given (`all_domains`, `domains`). Its `domain` option, one domain that
 * "can be specified multiple times", is not taken: an option given twice
 * is an error in this configuration language, and `domains` says the same
 * (src/config/momentum.ts warns).
 */
import { bareDomain } from '../delivery/mailbox-path.js';
import type { OptionSpec, ScopeSpec } from './schema.js';
import { opt } from './option.js';
import * as t from './values.js';
import type { ScopeInstance } from './walk.js';

export const maildirModuleOptions = {
  basedir: opt('basedir', t.filePath, null, 'The directory the mailboxes are made under, relative to the configuration file: `basedir/<local part>/` (`new/`, `cur/`, `tmp/`), or `basedir/<domain>/<local part>/` with `domain_in_path`. Unset: `ec_maildir` has nowhere to write, and is a runtime error.'),
  domainInPath: opt('domain_in_path', t.boolean, 'false', 'Put the domain in the mailbox path, before the local part.'),
  createUsers: opt('create_users', t.boolean, 'false', 'Make a mailbox that does not exist yet; `false`: `ec_maildir` to a mailbox that does not exist refuses that recipient (550 5.1.1).'),
  dirmode: opt('dirmode', t.octalMode, '700', 'The permission mode of the directories it makes, in octal.'),
  filemode: opt('filemode', t.octalMode, '600', 'The permission mode of the message files it writes, in octal.'),
  allDomains: opt('all_domains', t.boolean, 'false', 'Deliver every recipient to its Maildir instead of the ordinary way (the spool\'s INBOX, or the delivery queue), without a script.'),
  domains: opt('domains', t.listOf(t.string), '( )', 'The domains whose recipients are delivered to their Maildirs instead of the ordinary way, without a script, e.g. `( "example.com" )`. Without `create_users`, a recipient of these domains without a mailbox is refused at RCPT TO (550 5.1.1).'),
};

export const maildirModuleScope: ScopeSpec = {
  name: 'maildir', doc: 'Per-user Maildirs that `ec_maildir` stores messages in, and that the module delivers to for its domains (Momentum\'s maildir module; docs/delivery.md).', repeat: 'once',
  names: { min: 0, max: 1, label: 'instance name' }, options: Object.values(maildirModuleOptions), scopes: [],
};

export interface MaildirModuleConfig {
  basedir: string;
  domainInPath: boolean;
  createUsers: boolean;
  dirMode: number;
  fileMode: number;
  /** The module delivers every recipient to its Maildir. */
  allDomains: boolean;
  /** The domains (lower case, without a final dot) whose recipients the module delivers to their Maildirs. */
  domains: string[];
}

/** The scope, or null without one or without its basedir (warned of: `warn`). */
export function buildMaildirModule(root: ScopeInstance, defaults: <T>(spec: OptionSpec<T>) => T | null, warn: (s: ScopeInstance, message: string) => void): MaildirModuleConfig | null {
  const s = root.children.find((c) => c.valid && c.spec === maildirModuleScope);
  if (!s) return null;
  const v = <T>(spec: OptionSpec<T>): T => (s.options.get(spec.name.toLowerCase())?.value as T | undefined) ?? (defaults(spec) as T);
  const basedir = v(maildirModuleOptions.basedir);
  if (!basedir) {
    warn(s, 'maildir has no basedir: ec_maildir has nowhere to write and fails at run time');
    return null;
  }
  return {
    basedir,
    domainInPath: v(maildirModuleOptions.domainInPath),
    createUsers: v(maildirModuleOptions.createUsers),
    dirMode: v(maildirModuleOptions.dirmode),
    fileMode: v(maildirModuleOptions.filemode),
    allDomains: v(maildirModuleOptions.allDomains),
    domains: v(maildirModuleOptions.domains).map(bareDomain),
  };
}
