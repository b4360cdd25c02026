/**
 * ec_maildir <address> (sieve-ref-ec-maildir.md): "store the current
 * message into the maildir for the specified email address", in the
 * each_rcpt phase, ending the run. The Maildir is the maildir module's
 * (MomentumHost.maildir, 3-reference-modules-maildir.md):
 * `basedir/<local part>/`, or `basedir/<domain>/<local part>/` with
 * `domain_in_path`. The message goes there instead of the ordinary
 * delivery for the recipient ("The maildir I/O module subverts the regular
 * spooling actions"): the action cancels the implicit keep, and the session
 * writes the message there durably before it answers the final dot
 * (src/delivery/user-maildir.ts).
 *
 * A mailbox that does not exist, without `create_users`, refuses the
 * recipient (550 5.1.1), as the module's page says it does; a local part
 * that cannot be one directory of the path (a `/`, a leading dot, NUL) is
 * refused the same way rather than written outside `basedir`.
 */
import type { ActionDef } from '../../sieve/action.js';
import { formatAddress, parseAddressList } from '../../sieve/runtime/address.js';
import { argString, type SieveFunction } from '../functions.js';
import { hostOf } from '../host.js';
import { ecActionAction } from '../builtin-actions.js';
import { mailboxExists, mailboxPath } from '../../delivery/mailbox-path.js';

/** Store in the Maildir at data.path (an absolute directory) instead of the ordinary delivery; ends the run. */
export const maildirAction: ActionDef = { type: 'maildir', delivers: true, final: true, cancelsImplicitKeep: () => true, describe: (a) => `maildir ${a.target ?? ''}` };

const maildir: SieveFunction = {
  name: 'ec_maildir',
  uses: { command: true },
  needsMessage: true,
  // sieve-ref-ec-maildir.md: "It can only be called in the each_rcpt phase."
  phases: ['each_rcpt'],
  params: [{ name: 'email address', type: 'string' }],
  async call(b, rt) {
    const text = argString(b, rt, 0)!;
    const list = parseAddressList(text);
    const a = list?.length === 1 ? list[0] : undefined;
    if (!a?.domain) return rt.fail(`ec_maildir: '${text}' is not an email address`, b.node.pos);
    const m = hostOf(rt).maildir;
    if (!m) return rt.fail('ec_maildir: no maildir scope is configured (docs/configuration.md, "maildir")', b.node.pos);
    const address = formatAddress(a);
    const refuse = (why: string) => void rt.take(b, ecActionAction, { data: { code: 550, text: `5.1.1 <${address}>: ${why}` } });
    const path = mailboxPath(m, a.local, a.domain);
    if (path === null) return refuse('no such mailbox here');
    if (!m.createUsers) {
      if (!(await mailboxExists(path))) return refuse('mailbox unavailable');
    }
    rt.take(b, maildirAction, { target: address, data: { path } });
  },
};

export const maildirFunctions: SieveFunction[] = [maildir];
