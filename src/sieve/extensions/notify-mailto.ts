/**
 * RFC 5436: the mailto notification method, as the enotify extension
 * (enotify.ts) checks it: the URI (RFC 6068, mailto-uri.ts), the :from
 * address (2.3: one mailbox, used as the notification's From) and the one
 * capability RFC 5436 2.2 defines, "online", which is "maybe" because a
 * mail server cannot know whether the recipient is online.
 */
import { parseAddressList } from '../runtime/address.js';
import { parseMailto } from '../runtime/mailto-uri.js';

/** A notification method (RFC 5435 3.1): what enotify asks of it. */
export interface NotifyMethod {
  /** The URI scheme, lower case. */
  scheme: string;
  /** Why the URI is invalid for this method, or null. */
  checkUri(uri: string): string | null;
  /** Why the :from value is invalid for this method, or null. */
  checkFrom(from: string): string | null;
  /** RFC 5435 5: the values of a capability for this URI, or null when the method has no such capability. */
  capability(uri: string, name: string): string[] | null;
}

export const mailtoMethod: NotifyMethod = {
  scheme: 'mailto',
  checkUri(uri) {
    const p = parseMailto(uri);
    return p.ok ? null : `invalid mailto URI '${uri}': ${p.error}`;
  },
  checkFrom(from) {
    const list = parseAddressList(from);
    return list && list.length === 1 && list[0]!.domain !== '' ? null : `invalid :from address '${from}' for the mailto method`;
  },
  capability: (_uri, name) => (name === 'online' ? ['maybe'] : null),
};
