/**
 * RFC 5463: ihave and error. `ihave` is true when every capability is
 * available; with constant capabilities the extensions are loaded for the
 * rest of the script (section 4), so the guarded commands validate.
 * "variables" and "encoded-character" change how strings are read at
 * compile time and cannot be tested for (Pigeonhole refuses them too).
 */
import type { Extension } from '../registry.js';

const NOT_TESTABLE = new Set(['variables', 'encoded-character']);

export const ihave: Extension = {
  capability: 'ihave',
  commands: [
    {
      name: 'ihave',
      kind: 'test',
      positional: [{ name: 'capabilities', type: 'stringlist' }],
      validate(b, v) {
        const arg = b.args[0]!;
        const caps = arg.kind === 'stringlist' ? arg.templates : arg.kind === 'string' ? [arg.template] : [];
        const known: boolean[] = [];
        for (const t of caps) {
          const c = typeof t === 'string' ? t : null;
          const ok = c !== null && !NOT_TESTABLE.has(c) && v.registry.byCapability.has(c) && c !== '';
          if (ok) v.require(c, b.node);
          known.push(ok);
        }
        b.data = known.every(Boolean);
      },
      constant: (b) => b.data === true,
      evaluate: (b) => b.data === true,
    },
    {
      name: 'error',
      kind: 'command',
      positional: [{ name: 'message', type: 'string' }],
      execute: (b, rt) => rt.fail(rt.string(b.args[0]!), b.node.pos),
    },
  ],
};

