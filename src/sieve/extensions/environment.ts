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
  return rt.host.environment?.(lname) ?? DEFAULTS[lname];
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
