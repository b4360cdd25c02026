/**
 * Momentum's maildir module in the configuration (3-reference-modules-
 * maildir.md, 4/modules/maildir.md): the per-user Maildirs `ec_maildir`
 * stores a message in, under `basedir` (docs/delivery.md, "Per-user
 * Maildirs"). The module's own choice of domains to deliver there
 * (`all_domains`, `domains`) is not taken: only a script's ec_maildir
 * delivers to them here (src/config/momentum.ts warns).
 */
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
};

export const maildirModuleScope: ScopeSpec = {
  name: 'maildir', doc: 'Per-user Maildirs that `ec_maildir` stores messages in (Momentum\'s maildir module; docs/delivery.md).', repeat: 'once',
  names: { min: 0, max: 1, label: 'instance name' }, options: Object.values(maildirModuleOptions), scopes: [],
};

export interface MaildirModuleConfig {
  basedir: string;
  domainInPath: boolean;
  createUsers: boolean;
  dirMode: number;
  fileMode: number;
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
  return { basedir, domainInPath: v(maildirModuleOptions.domainInPath), createUsers: v(maildirModuleOptions.createUsers), dirMode: v(maildirModuleOptions.dirmode), fileMode: v(maildirModuleOptions.filemode) };
}
