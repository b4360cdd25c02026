/**
 * The mailto URI (RFC 6068) as the enotify mailto method reads it
 * (RFC 5436 2.1): recipients before "?", then "name=value" header fields
 * joined by "&", every part percent-encoded. The recipients of the "to",
 * "cc" and "bcc" fields join those of the address part; "subject" and
 * "body" are kept apart; any other field is returned for the composer to
 * judge (RFC 5436 2.7 makes it decide which are safe).
 *
 * Invalid: characters a URI may not hold there (RFC 6068 2: only unreserved
 * characters, escapes and "some-delims"), a malformed escape or non-UTF-8
 * octets, a field name that is not one (RFC 5322 2.2), a line break in a
 * header value (it would inject fields), and a recipient that is not one
 * mailbox with a domain.
 */
import { type Address, parseAddressList } from './address.js';
import { percentDecode } from './uri-encoding.js';

export interface MailtoRecipient {
  address: Address;
  /** The recipient as written (a display name may come with it: "Name <a@b>"). */
  text: string;
  field: 'to' | 'cc' | 'bcc';
}

export interface MailtoUri {
  recipients: MailtoRecipient[];
  /** Header fields other than to, cc, bcc, subject and body, in order. */
  headers: Array<{ name: string; value: string }>;
  subject?: string;
  body?: string;
}

export type MailtoParse = { ok: true; uri: MailtoUri } | { ok: false; error: string };

/** RFC 6068 2: qchar = unreserved / pct-encoded / some-delims (the "%" is checked by the decoder). */
const QCHARS = /^[A-Za-z0-9\-._~!$'()*+,;:@%]*$/;
/** A header value may also hold "/" and "?", as any URI query may (RFC 3986 3.4); mail clients write them unescaped. */
const VALUE_CHARS = /^[A-Za-z0-9\-._~!$'()*+,;:@%/?]*$/;
/** RFC 5322 2.2: a field name is printable ASCII without ":". */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/** Splits an address list at the commas between its elements (not those in quotes, comments or angle brackets). */
export function splitAddressList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let angle = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && (quoted || depth > 0)) i++;
    else if (quoted) quoted = c !== '"';
    else if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth > 0) continue;
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (c === ',' && !angle) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

function recipients(value: string, field: MailtoRecipient['field']): MailtoRecipient[] | string {
  const out: MailtoRecipient[] = [];
  for (const text of splitAddressList(value)) {
    const list = parseAddressList(text);
    if (!list || list.length !== 1 || list[0]!.domain === '' || text.includes(';')) return `invalid ${field} recipient '${text}'`;
    out.push({ address: list[0]!, text, field });
  }
  return out;
}

export function parseMailto(uri: string): MailtoParse {
  const fail = (error: string): MailtoParse => ({ ok: false, error });
  const scheme = /^mailto:/i.exec(uri);
  if (!scheme) return fail('not a mailto URI');
  const rest = uri.slice(scheme[0].length);
  const q = rest.indexOf('?');
  const toPart = q < 0 ? rest : rest.slice(0, q);
  if (!QCHARS.test(toPart)) return fail(`invalid character in recipient part '${toPart}'`);
  const to = percentDecode(toPart);
  if (to === null) return fail(`invalid escape in recipient part '${toPart}'`);
  const first = recipients(to, 'to');
  if (typeof first === 'string') return fail(first);
  const parsed: MailtoUri = { recipients: first, headers: [] };
  if (q < 0) return { ok: true, uri: parsed };
  for (const field of rest.slice(q + 1).split('&')) {
    const eq = field.indexOf('=');
    if (eq < 0) return fail(`header field '${field}' has no value`);
    const rawName = field.slice(0, eq);
    const rawValue = field.slice(eq + 1);
    if (!QCHARS.test(rawName)) return fail(`invalid character in header name '${rawName}'`);
    if (!VALUE_CHARS.test(rawValue)) return fail(`invalid character in header value '${rawValue}'`);
    const name = percentDecode(rawName);
    const value = percentDecode(rawValue);
    if (name === null || value === null) return fail(`invalid escape in header field '${field}'`);
    if (!FIELD_NAME.test(name)) return fail(`invalid header name '${name}'`);
    const lname = name.toLowerCase();
    if (lname === 'body') {
      parsed.body = value;
      continue;
    }
    if (/[\r\n]/.test(value)) return fail(`header '${name}' holds a line break`);
    if (lname === 'to' || lname === 'cc' || lname === 'bcc') {
      const more = recipients(value, lname);
      if (typeof more === 'string') return fail(more);
      parsed.recipients.push(...more);
    } else if (lname === 'subject') parsed.subject = value;
    else parsed.headers.push({ name, value });
  }
  return { ok: true, uri: parsed };
}
