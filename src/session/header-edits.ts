/**
 * Header edits a policy asks for (Sieve++ ec_header_add / ec_header_delete),
 * applied to the message text when it is spooled. Added fields go on top,
 * as editheader's addheader does by default (RFC 5293 4); a delete removes
 * every field of that name, or only those whose value is the one given.
 */
export interface HeaderEdit {
  op: 'add' | 'delete';
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
      out = [`${e.name}: ${e.value ?? ''}`, ...out];
      continue;
    }
    out = out.filter((f) => {
      const colon = f.indexOf(':');
      if (colon < 0 || f.slice(0, colon).trim().toLowerCase() !== name) return true;
      if (e.value === undefined) return false;
      const value = f.slice(colon + 1).replace(/\r\n/g, '').trim();
      return value.toLowerCase() !== e.value.trim().toLowerCase();
    });
  }
  const header = out.join('\r\n');
  if (end < 0) return header + (raw.endsWith('\r\n') && header ? '\r\n' : '');
  return header + rest;
}
