/**
 * RFC 5233: the :user and :detail address parts. The separator is "+"
 * unless the host's "recipient_delimiter" setting lists other characters
 * (any of them separates, as in Postfix and Pigeonhole). An address without
 * a separator has no detail, so :detail matches nothing (4); "user+" has an
 * empty detail.
 */
import type { Extension } from '../registry.js';
import type { Runtime } from '../runtime/runtime.js';

export const SUBADDRESS_SEPARATOR = '+';

/** Where the detail starts: the first delimiter character, or -1. */
function separatorAt(local: string, rt: Runtime): number {
  const delimiters = rt.host.setting?.('recipient_delimiter') || SUBADDRESS_SEPARATOR;
  let at = -1;
  for (const d of delimiters) {
    const i = local.indexOf(d);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}

export const subaddress: Extension = {
  capability: 'subaddress',
  addressParts: [
    {
      name: 'user',
      extract: (a, rt) => {
        const i = separatorAt(a.local, rt);
        return i < 0 ? a.local : a.local.slice(0, i);
      },
    },
    {
      name: 'detail',
      extract: (a, rt) => {
        const i = separatorAt(a.local, rt);
        return i < 0 ? null : a.local.slice(i + 1);
      },
    },
  ],
};
