/**
 * RFC 5183: the environment test. Items come from the host
 * (SieveHost.environment); the standard ones have defaults describing this
 * product at SMTP time (location "MTA", RFC 5183 4). An unknown item makes
 * the test false, even with :count.
 */
import { matchTest } from '../interpreter.js';
import type { Extension } from '../registry.js';
import type { Runtime } from '../runtime/runtime.js';

/** RFC 5183 4 defaults; the host overrides any of them. */
const DEFAULTS: Record<string, string> = {
  name: 'smtp-cbv',
  version: '0.1.0',
  location: 'MTA',
  phase: 'during',
};

export function environmentItem(rt: Runtime, name: string): string | undefined {
  const lname = name.toLowerCase();
  const fromHost = rt.host.environment?.(lname);
  if (fromHost !== undefined) return fromHost;
  // vnd.dovecot.environment: configured items and the default mailbox.
  if (lname.startsWith('vnd.dovecot.config.')) return rt.setting(`sieve_environment/${name.slice(19)}`);
  if (lname === 'vnd.dovecot.default-mailbox') return 'INBOX';
  return DEFAULTS[lname];
}

export const environment: Extension = {
  capability: 'environment',
  commands: [
    {
      name: 'environment',
      kind: 'test',
      families: ['comparator', 'match-type'],
      positional: [
        { name: 'name', type: 'string' },
        { name: 'key list', type: 'stringlist' },
      ],
      evaluate(b, rt) {
        const value = environmentItem(rt, rt.string(b.args[0]!));
        if (value === undefined) return false;
        return matchTest(b, rt, [value], rt.list(b.args[1]!));
      },
    },
  ],
};

/**
 * vnd.dovecot.environment: more environment items (vnd.dovecot.username,
 * vnd.dovecot.default-mailbox, vnd.dovecot.config.*) and the "env"
 * variable namespace, "${env.vnd.dovecot.default_mailbox}" ("_" for "-",
 * as identifiers have no "-"). Requiring it implies environment.
 */
export const vndDovecotEnvironment: Extension = {
  capability: 'vnd.dovecot.environment',
  onRequire: (v, at) => void v.require('environment', at),
  namespaces: [{ name: 'env', read: (rt, path) => environmentItem(rt, path.replace(/_/g, '-')) ?? '' }],
};
