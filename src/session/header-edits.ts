/**
 * Header edits a policy asks for (Sieve++ ec_header_add, ec_header_delete,
 * ec_header_prefix, ec_header_postfix), applied to the message text when it
 * is spooled. Added fields go on top, as editheader's addheader does by
 * default (RFC 5293 4); a delete removes every field of that name, or only
 * those whose value is the one given; a prefix or postfix changes the first
 * field of that name, if there is one (sieve-ref-ec-header-prefix.md): the
 * text goes after the colon and its white space, or at the end of the
 * field's last line.
 */
import { isUtf8 } from 'node:buffer';
import { fieldText, foldField } from '../sieve/extensions/editheader.js';

export interface HeaderEdit {
  op: 'add' | 'delete' | 'prefix' | 'postfix';
  name: string;
  value?: string;
}

export function applyHeaderEdits(raw: string, edits: readonly HeaderEdit[]): string {
  if (!edits.length) return raw;
  const end = raw.startsWith('\r\n') ? 0 : raw.indexOf('\r\n\r\n');
  const headerText = end < 0 ? raw : raw.slice(0, end);
  const rest = end < 0 ? '' : raw.slice(end);
  // One entry per field, folded continuation lines (starting with WSP) kept with it (RFC 5322 2.2.3).
  const fields: string[] = [];
  for (const line of headerText === '' ? [] : headerText.split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && fields.length) fields[fields.length - 1] += `\r\n${line}`;
    else fields.push(line);
  }
  let out = fields;
  for (const e of edits) {
    const name = e.name.toLowerCase();
    if (e.op === 'add') {
      // Encoded and folded as editheader's addheader writes a field: a long line breaks RFC 5322 2.1.1.
      out = [fieldText(e.name, e.value ?? ''), ...out];
      continue;
    }
    if (e.op === 'prefix' || e.op === 'postfix') {
      const i = out.findIndex((f) => fieldNameOf(f) === name);
      if (i < 0) continue;
      const f = out[i]!;
      const at = e.op === 'postfix' ? f.length : valueStart(f);
      out = [...out.slice(0, i), foldField(f.slice(0, at) + (e.value ?? '') + f.slice(at)), ...out.slice(i + 1)];
      continue;
    }
    out = out.filter((f) => {
      if (fieldNameOf(f) !== name) return true;
      if (e.value === undefined) return false;
      const value = f.slice(f.indexOf(':') + 1).replace(/\r\n/g, '').trim();
      return value.toLowerCase() !== e.value.trim().toLowerCase();
    });
  }
  const header = out.join('\r\n');
  if (end < 0) return header + (raw.endsWith('\r\n') && header ? '\r\n' : '');
  // A message that had no header field starts with the empty line: the new fields need their own line end before it.
  if (end === 0 && header) return `${header}\r\n${rest}`;
  return header + rest;
}

/** A field's name in lower case; undefined for a line without a colon. */
function fieldNameOf(field: string): string | undefined {
  const colon = field.indexOf(':');
  return colon < 0 ? undefined : field.slice(0, colon).trim().toLowerCase();
}

/** Where a field's value starts: past its colon and the white space after it, folded lines included (RFC 5322 2.2.3). */
function valueStart(field: string): number {
  let at = field.indexOf(':') + 1;
  for (;;) {
    const c = field.charCodeAt(at);
    if (c === 32 || c === 9) at++;
    else if (c === 13 && field.charCodeAt(at + 1) === 10) at += 2;
    else return at;
  }
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * Where the body starts in `octets`: after the empty line that ends the
 * header section (RFC 5322 2.1), 2 for a message that starts with it, and
 * undefined for a message without one (all header).
 */
export function bodyStart(octets: Buffer): number | undefined {
  if (octets[0] === 0x0d && octets[1] === 0x0a) return 2;
  const end = octets.indexOf(HEAD_END);
  return end < 0 ? undefined : end + 4;
}

/** Where the body starts in a message as text, after the header section's empty line; undefined without header fields or without that line (editedMessageOctets then keeps the text). */
function textBodyStart(text: string): number | undefined {
  const end = text.indexOf('\r\n\r\n');
  return text.startsWith('\r\n') || end < 0 ? undefined : end + 4;
}

/**
 * applyHeaderEdits on a message's octets: the header section is edited as
 * text, the body is kept octet for octet. The body of an 8-bit message
 * (RFC 6152) need not be UTF-8 (a Latin-1 text, say), and decoding it as
 * UTF-8 and back replaced every such octet with U+FFFD. `start`: where
 * the body starts when the caller knows (a message whose lines end in a
 * bare LF has no CRLF CRLF to find).
 */
export function applyHeaderEditsToOctets(octets: Buffer, edits: readonly HeaderEdit[], start = bodyStart(octets)): Buffer {
  if (!edits.length) return octets;
  if (start === undefined) return editHead(octets, edits);
  return Buffer.concat([editHead(octets.subarray(0, start), edits), octets.subarray(start)]);
}

/**
 * A header section with the edits made. One that is not UTF-8 (raw 8-bit
 * octets, which RFC 5322 does not allow but old mailers send, a Latin-1
 * Subject say) is edited octet for octet: read as Latin-1, one character an
 * octet, with the text the edits insert as its UTF-8 octets. An added field
 * is ASCII already (fieldText encodes the rest, RFC 2047).
 */
export function editHead(head: Buffer, edits: readonly HeaderEdit[]): Buffer {
  if (isUtf8(head)) return Buffer.from(applyHeaderEdits(head.toString('utf8'), edits), 'utf8');
  const asOctets = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
  const octetEdits = edits.map((e) => (e.op === 'add' || e.value === undefined ? e : { ...e, value: asOctets(e.value) }));
  return Buffer.from(applyHeaderEdits(head.toString('latin1'), octetEdits), 'latin1');
}

/**
 * The octets of `edited`, a message a script changed (RFC 5293
 * editheader; the Sieve core holds messages as text), with `edits` on top.
 * Where its body is the received one's as text, the received body's octets
 * are kept (see applyHeaderEditsToOctets); a body the script replaced
 * (RFC 5703 enclose, replace) is its own text, in UTF-8.
 */
export function editedMessageOctets(edited: string, received: Buffer, receivedText: string, edits: readonly HeaderEdit[]): Buffer {
  const at = textBodyStart(edited);
  const from = bodyStart(received);
  const textAt = textBodyStart(receivedText);
  const sameBody = at !== undefined && from !== undefined && textAt !== undefined && edited.length - at === receivedText.length - textAt && edited.endsWith(receivedText.slice(textAt));
  if (!sameBody) return Buffer.from(applyHeaderEdits(edited, edits), 'utf8');
  const head = Buffer.from(applyHeaderEdits(edited.slice(0, at), edits), 'utf8');
  return Buffer.concat([head, received.subarray(from)]);
}
