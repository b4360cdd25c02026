/**
 * What an accepted message's delivery plan means to a milter's MTA
 * (docs/postfix.md, "What the milter answers"). The MTA keeps the message;
 * we can only ask it for changes at end of message:
 *
 *   header edits (ec_header_add/delete, editheader)  INSHEADER / ADDHEADER / CHGHEADER (empty value deletes)
 *   a recipient no store keeps (discard at RCPT, redirect without :copy)  DELRCPT
 *   redirect "A"                                       ADDRCPT <A>
 *   add_recipient "A" (a store for a new recipient)    ADDRCPT <A>
 *   ec_rewrite_mailfrom "A"                            CHGFROM <A>
 *   fileinto any folder but INBOX                       QUARANTINE (Postfix: the hold queue)
 *   nothing kept and nothing redirected (discard)       DISCARD instead of the final CONTINUE
 *
 * Header edits are found by comparing the header the MTA sent with the
 * header of the message the policy would have stored: whatever produced
 * the difference (Sieve++ edits, RFC 5293 editheader), the MTA is asked
 * for exactly that difference.
 */
import { INBOX } from '../../session/decide.js';
import { bodyStart } from '../../session/header-edits.js';
import type { DeliveryPlan } from '../../session/session.js';
import type { MilterResponse } from './messages.js';

export interface HeaderField {
  name: string;
  /** The value as it follows the colon, leading space included, folds as CRLF. */
  value: string;
}

/** More fields than this on either side: edits are not computed (the table would be too large). */
const MAX_DIFF_FIELDS = 1000;

/** The header fields of an RFC 5322 message text, continuation lines kept with their field (RFC 5322 2.2.3). */
export function headerFields(message: string): HeaderField[] {
  const end = message.startsWith('\r\n') ? 0 : message.indexOf('\r\n\r\n');
  const text = end < 0 ? message : message.slice(0, end);
  const lines: string[] = [];
  for (const line of text === '' ? [] : text.split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && lines.length) lines[lines.length - 1] += `\r\n${line}`;
    else lines.push(line);
  }
  return lines.flatMap((l) => {
    const colon = l.indexOf(':');
    return colon < 0 ? [] : [{ name: l.slice(0, colon).trim(), value: l.slice(colon + 1) }];
  });
}

/** The header section of a message's octets, as text: the body, which may be megabytes, is not decoded. */
function headerText(message: Buffer): string {
  return message.subarray(0, bodyStart(message) ?? message.length).toString('utf8');
}

/** A field as the comparison sees it: its name without case, its value without the white space around it. */
const fieldKey = (f: HeaderField) => `${f.name.toLowerCase()}\n${f.value.trim()}`;

/**
 * The requests that turn `before` into `after`: deletions first (CHGHEADER
 * with an empty value; the last occurrence of a name first, so that the
 * indexes of the others do not move), then insertions in order of their
 * final position (INSHEADER at that position, ADDHEADER for fields that
 * end the header). `leadingSpace`: SMFIP_HDR_LEADSPC was negotiated, so
 * values carry their own leading space; otherwise the MTA adds one.
 */
export function headerEdits(before: HeaderField[], after: HeaderField[], leadingSpace: boolean): MilterResponse[] | null {
  const n = before.length;
  const m = after.length;
  if (n > MAX_DIFF_FIELDS || m > MAX_DIFF_FIELDS) return null;
  // Each field's key made once, not at each of the table's n by m comparisons.
  const was = before.map(fieldKey);
  const now = after.map(fieldKey);
  const keptBefore = new Set<number>();
  const keptAfter = new Set<number>();
  // The fields both begin and end with are kept as they are: an edit is most often a field or two added on
  // top or deleted, and the longest common subsequence is then worked out over those few alone.
  let head = 0;
  while (head < n && head < m && was[head] === now[head]) {
    keptBefore.add(head);
    keptAfter.add(head++);
  }
  let tail = 0;
  while (tail < n - head && tail < m - head && was[n - 1 - tail] === now[m - 1 - tail]) {
    keptBefore.add(n - 1 - tail);
    keptAfter.add(m - 1 - tail++);
  }
  // Longest common subsequence of the fields between.
  const rows = n - head - tail;
  const cols = m - head - tail;
  const w = cols + 1;
  const lcs = new Uint16Array((rows + 1) * w);
  for (let i = rows - 1; i >= 0; i--) {
    for (let j = cols - 1; j >= 0; j--) {
      lcs[i * w + j] = was[head + i] === now[head + j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
    }
  }
  for (let i = 0, j = 0; i < rows && j < cols; ) {
    if (was[head + i] === now[head + j]) {
      keptBefore.add(head + i++);
      keptAfter.add(head + j++);
    } else if (lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!) i++;
    else j++;
  }
  const out: MilterResponse[] = [];
  const deletions: Array<{ name: string; index: number }> = [];
  const seen = new Map<string, number>();
  before.forEach((f, i) => {
    const key = f.name.toLowerCase();
    const index = (seen.get(key) ?? 0) + 1;
    seen.set(key, index);
    if (!keptBefore.has(i)) deletions.push({ name: f.name, index });
  });
  for (const d of deletions.sort((a, b) => b.index - a.index)) out.push({ kind: 'chgheader', index: d.index, name: d.name, value: '' });
  const value = (f: HeaderField) => {
    const v = f.value.replace(/\r\n/g, '\n');
    return leadingSpace ? v : v.replace(/^ /, '');
  };
  let trailing = m;
  while (trailing > 0 && !keptAfter.has(trailing - 1)) trailing--;
  for (let j = 0; j < m; j++) {
    if (keptAfter.has(j)) continue;
    const f = after[j]!;
    out.push(j >= trailing && keptAfter.size ? { kind: 'addheader', name: f.name, value: value(f) } : { kind: 'insheader', index: j, name: f.name, value: value(f) });
  }
  return out;
}

/**
 * The end-of-message requests for an accepted message, and the final
 * response. `recipients` are those the session accepted (in the MTA's
 * form, without brackets).
 */
export function deliveryEdits(plan: DeliveryPlan, recipients: string[], header: { before: HeaderField[]; leadingSpace: boolean }): { edits: MilterResponse[]; final: MilterResponse } {
  if (!plan.stores.length && !plan.redirects.length) return { edits: [], final: { kind: 'discard' } };
  const edits: MilterResponse[] = [];
  if (plan.message) {
    // The header section the source keeps apart, when it does: a spooled message's body is not read for it.
    const after = headerFields(plan.message.head ? plan.message.head.toString('utf8') : headerText(plan.message.bytes()));
    edits.push(...(headerEdits(header.before, after, header.leadingSpace) ?? []));
  }
  const kept = new Set(plan.stores.flatMap((s) => s.recipients));
  for (const r of recipients) if (!kept.has(r)) edits.push({ kind: 'delrcpt', address: `<${r}>` });
  for (const a of plan.redirects) if (!recipients.includes(a) || !kept.has(a)) edits.push({ kind: 'addrcpt', address: `<${a}>` });
  for (const a of kept) if (!recipients.includes(a) && !plan.redirects.includes(a)) edits.push({ kind: 'addrcpt', address: `<${a}>` });
  if (plan.mailFrom !== undefined) edits.push({ kind: 'chgfrom', address: `<${plan.mailFrom}>` });
  const held = plan.stores.map((s) => s.folder).filter((f) => f !== INBOX);
  if (held.length) edits.push({ kind: 'quarantine', reason: `smtp-cbv: fileinto ${held.join(', ')}` });
  return { edits, final: { kind: 'continue' } };
}
