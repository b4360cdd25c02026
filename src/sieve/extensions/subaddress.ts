/**
 * RFC 5233: the :user and :detail address parts, with "+" as the
 * separator. An address without a separator has no detail, so :detail
 * matches nothing (4); "user+" has an empty detail.
 */
import type { Extension } from '../registry.js';

export const SUBADDRESS_SEPARATOR = '+';

export const subaddress: Extension = {
  capability: 'subaddress',
  addressParts: [
    {
      name: 'user',
      extract: (a) => {
        const i = a.local.indexOf(SUBADDRESS_SEPARATOR);
        return i < 0 ? a.local : a.local.slice(0, i);
      },
    },
    {
      name: 'detail',
      extract: (a) => {
        const i = a.local.indexOf(SUBADDRESS_SEPARATOR);
        return i < 0 ? null : a.local.slice(i + 1);
      },
    },
  ],
};
