/**
 * Address parts (RFC 5228 2.7.4): which piece of an address a test
 * compares. The core registers :all, :localpart and :domain; subaddress
 * (RFC 5233) registers :user and :detail.
 */
import { type Address, formatAddress } from './address.js';
import type { Runtime } from './runtime.js';

export interface AddressPart {
  name: string;
  /**
   * The part of a valid address, or null when this address has no such part
   * (e.g. :detail without a separator, RFC 5233 4), so that it matches nothing.
   */
  extract(a: Address, rt: Runtime): string | null;
}

export const allPart: AddressPart = { name: 'all', extract: formatAddress };
export const localPart: AddressPart = { name: 'localpart', extract: (a) => a.local };
export const domainPart: AddressPart = { name: 'domain', extract: (a) => a.domain };

/** One address as a test sees it: parsed, or the raw text of something that did not parse. */
export type AddressItem = { valid: true; address: Address } | { valid: false; raw: string } | { valid: 'null' };

/**
 * The value to compare for one address item: an invalid address gives its
 * raw text to :all only (RFC 5228 2.7.4); the null reverse-path is the
 * empty string whatever the part (RFC 5228 5.4).
 */
export function partValue(part: AddressPart, item: AddressItem, rt: Runtime): string | null {
  if (item.valid === 'null') return '';
  if (item.valid === false) return part === allPart ? item.raw : null;
  return part.extract(item.address, rt);
}
