/**
 * vnd.dovecot.debug: `debug_log <message>` adds a line to the run's log
 * (Runtime.log), which hosts may print; it never fails the run.
 */
import type { Extension } from '../registry.js';

export const debug: Extension = {
  capability: 'vnd.dovecot.debug',
  commands: [
    {
      name: 'debug_log',
      kind: 'command',
      positional: [{ name: 'message', type: 'string' }],
      execute(b, rt) {
        rt.log.push(rt.string(b.args[0]!));
      },
    },
  ],
};
