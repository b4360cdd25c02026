/**
 * RFC 5490 section 3: the "mailbox" extension. `:create` on fileinto
 * creates the mailbox when the result is executed, and the mailboxexists
 * test asks the host whether every named mailbox exists (false when the
 * host cannot tell).
 */
import type { Extension } from '../registry.js';

export const mailbox: Extension = {
  capability: 'mailbox',
  attachTags: [{ commands: ['fileinto'], tag: { name: 'create' } }],
  commands: [
    {
      name: 'mailboxexists',
      kind: 'test',
      positional: [{ name: 'mailbox names', type: 'stringlist' }],
      evaluate(b, rt) {
        const names = rt.list(b.args[0]!);
        const ask = rt.host.mailboxExists;
        if (!ask) return false;
        const check = (i: number): boolean | Promise<boolean> => {
          for (; i < names.length; i++) {
            const r = ask(names[i]!);
            if (r instanceof Promise) return r.then((ok) => (ok ? check(i + 1) : false));
            if (!r) return false;
          }
          return true;
        };
        return check(0);
      },
    },
  ],
};
