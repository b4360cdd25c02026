/**
 * RFC 5233: the :user and :detail address parts. The separator is "+"
 * unless the host's "recipient_delimiter" setting lists other characters
 * (any of them separates, as in Postfix and Pigeonhole). An address without
 * a separator has no detail, so :detail matches nothing (4); "user+" has an
 * empty detail.
 */
import type { AddressPart } from '../runtime/address-parts.js';
import type { Extension } from '../registry.js';
import type { Runtime } from '../runtime/runtime.js';

export const SUBADDRESS_SEPARATOR = '+';

/** The separator characters of this run's host (the match worker is given them: it has no host). */
export const delimitersOf = (rt: Runtime): string => rt.host.setting?.('recipient_delimiter') || SUBADDRESS_SEPARATOR;

/** Where the detail starts: the first delimiter character, or -1. */
function separatorAt(local: string, delimiters: string): number {
  let at = -1;
  for (const d of delimiters) {
    const i = local.indexOf(d);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}

/** The user part of a local part: all of it before the first separator. */
export function userOf(local: string, delimiters: string): string {
  const i = separatorAt(local, delimiters);
  return i < 0 ? local : local.slice(0, i);
}

/** The detail part of a local part: after the first separator; null without one (RFC 5233 4). */
export function detailOf(local: string, delimiters: string): string | null {
  const i = separatorAt(local, delimiters);
  return i < 0 ? null : local.slice(i + 1);
}

export const userPart: AddressPart = { name: 'user', extract: (a, rt) => userOf(a.local, delimitersOf(rt)) };
export const detailPart: AddressPart = { name: 'detail', extract: (a, rt) => detailOf(a.local, delimitersOf(rt)) };

export const subaddress: Extension = {
  capability: 'subaddress',
  addressParts: [userPart, detailPart],
};
