/**
 * Where Momentum's maildir module keeps a user's Maildir, and which
 * recipients it delivers there itself (src/config/maildir-module.ts has the
 * scope). Apart from the scope's options so that `ec_maildir`, which
 * `smtp-cbv check` loads, does not load the configuration's value types.
 */
import { join } from 'node:path';
import type { MaildirModuleConfig } from '../config/maildir-module.js';

/** A local part or domain that is one plain directory name: nothing is ever written outside `basedir`. */
const SAFE = /^[^/\0.][^/\0]*$/;

/**
 * The Maildir of `local`@`domain`: `basedir/<local part>/`, or
 * `basedir/<domain>/<local part>/` with `domain_in_path`; null for a local
 * part or domain that cannot be one directory name (a `/`, a leading dot,
 * NUL), which is refused rather than written elsewhere.
 */
export function mailboxPath(m: Pick<MaildirModuleConfig, 'basedir' | 'domainInPath'>, local: string, domain: string): string | null {
  const d = bareDomain(domain);
  if (!SAFE.test(local) || !SAFE.test(d)) return null;
  return m.domainInPath ? join(m.basedir, d, local) : join(m.basedir, local);
}

/** Whether the module itself delivers to `domain`'s recipients. */
export function deliversFor(m: Pick<MaildirModuleConfig, 'allDomains' | 'domains'>, domain: string): boolean {
  return m.allDomains || m.domains.includes(bareDomain(domain));
}

/**
 * Whether the Maildir at `path` exists (a directory). On the thread pool:
 * a run or a session waits, the event loop does not. fs/promises is asked
 * for here, not imported, since `check` loads this file and must not load it.
 */
export function mailboxExists(path: string): Promise<boolean> {
  const { stat } = process.getBuiltinModule('node:fs/promises');
  return stat(path).then((s) => s.isDirectory(), () => false);
}

/** A domain as the module compares it: lower case, without a final dot. */
export const bareDomain = (domain: string): string => domain.toLowerCase().replace(/\.$/, '');
