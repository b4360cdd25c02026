/**
 * Momentum's advertize_esmtp_capability and disable_esmtp_capability
 * (sieve-ref-advertize-esmtp-capability.md,
 * sieve-ref-disable-esmtp-capability.md): a keyword added to or taken from
 * the extension lines of the connection's EHLO answers (RFC 5321 4.1.1.1),
 * typically from the connect phase. The session keeps the changes for the
 * connection; the SMTP front door applies them to every later EHLO answer
 * (docs/server.md, "What actions mean"). Taking a keyword out of the answer
 * only stops offering it: a client that uses the extension anyway is
 * served as before.
 */
import type { ActionDef } from '../../sieve/action.js';
import { argString, type SieveFunction } from '../functions.js';

const esmtpAction = (type: 'esmtp_advertize' | 'esmtp_disable'): ActionDef => ({
  type,
  cancelsImplicitKeep: () => false,
  describe: (a) => `${type} ${JSON.stringify(a.target)}`,
});
export const esmtpAdvertizeAction = esmtpAction('esmtp_advertize');
export const esmtpDisableAction = esmtpAction('esmtp_disable');

const esmtpFunction = (name: string, def: ActionDef): SieveFunction => ({
  name,
  uses: { command: true },
  params: [{ name: 'capability', type: 'string' }],
  call(b, rt) {
    // One extension line: an EHLO answer line holds no line break (RFC 5321 4.2).
    const line = argString(b, rt, 0)!.replace(/[\r\n]+/g, ' ').trim();
    if (line) rt.take(b, def, { target: line });
  },
});

export const esmtpFunctions: SieveFunction[] = [
  esmtpFunction('advertize_esmtp_capability', esmtpAdvertizeAction),
  esmtpFunction('disable_esmtp_capability', esmtpDisableAction),
];
