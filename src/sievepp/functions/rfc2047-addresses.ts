/**
 * ec_rfc2047_encode_addresses (its page in Momentum's reference, "create
 * an RFC2047-compliant address"): an address list as a header field holds
 * it, e.g. `"Zoë Ångström" <zoe@example.com>, bob@example.org`, written
 * again with each display name (and group name) that is not ASCII as RFC
 * 2047 encoded-words (UTF-8, Q, section 5 (3)), the others quoted where
 * RFC 5322 3.2.5 needs a quoted string, the addresses as they were. Meant
 * for the header fields of mail a script generates. The list is parsed by
 * nodemailer's addressparser (loaded on first use: compiling a script
 * needs none of it); a list it cannot read comes back as it was given.
 */
import { createRequire } from 'node:module';
import type addressparser from 'nodemailer/lib/addressparser';
import { quotedString } from '../../sieve/runtime/address.js';
import { encodedPhrase } from '../../sieve/runtime/rfc2047.js';
import { argString, type SieveFunction } from '../functions.js';

type Parsed = ReturnType<typeof addressparser>[number];
let parse: typeof addressparser | undefined;
const parser = () => (parse ??= createRequire(import.meta.url)('nodemailer/lib/addressparser') as typeof addressparser);

/** RFC 5322 3.2.3 atext, and the spaces between atoms of a phrase. */
const PHRASE = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/;
const ASCII = /^[\x20-\x7e]*$/;

/** A display name as a phrase: atoms as they are, ASCII otherwise quoted, anything else encoded-words, the whole name. */
function phrase(name: string): string {
  if (PHRASE.test(name) && !/^ | $|  /.test(name)) return name;
  return ASCII.test(name) ? quotedString(name) : encodedPhrase(name);
}

function written(a: Parsed): string {
  if (a.group !== undefined) return `${phrase(a.name)}: ${a.group.map(written).join(', ')};`;
  return a.name ? `${phrase(a.name)} <${a.address}>` : a.address;
}

/** A mailbox without an address (text addressparser read as a name alone) makes the value no address list. */
const readable = (a: Parsed): boolean => (a.group !== undefined ? a.group.every(readable) : a.address !== '');

/** The address list with its names encoded; the value as given when it is not an address list. */
export function encodedAddresses(value: string): string {
  const list = parser()(value);
  return list.length && list.every(readable) ? list.map(written).join(', ') : value;
}

const encodeAddresses: SieveFunction = {
  name: 'ec_rfc2047_encode_addresses',
  uses: { value: true },
  params: [{ name: 'addresses', type: 'string' }],
  phases: ['data', 'each_rcpt', 'spool'],
  call: (b, rt) => encodedAddresses(argString(b, rt, 0) ?? ''),
};

export const rfc2047AddressFunctions: SieveFunction[] = [encodeAddresses];
