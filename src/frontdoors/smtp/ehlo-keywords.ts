/**
 * The extension lines of an EHLO answer (RFC 5321 4.1.1.1: a keyword, then
 * its parameters) after the policy's changes (Sieve++
 * advertize_esmtp_capability and disable_esmtp_capability): in order, an
 * added line goes last unless its keyword is offered already, and a
 * disabled keyword takes out every line it begins. Keywords compare
 * without regard to case (RFC 5321 2.4).
 */
import type { EsmtpChange } from '../../session/decide.js';

export function changedKeywords(lines: readonly string[], changes: readonly EsmtpChange[] | undefined): string[] {
  if (!changes?.length) return [...lines];
  let out = [...lines];
  for (const c of changes) {
    const keyword = keywordOf(c.keyword);
    if (c.op === 'disable') out = out.filter((l) => keywordOf(l) !== keyword);
    else if (!out.some((l) => keywordOf(l) === keyword)) out.push(c.keyword);
  }
  return out;
}

const keywordOf = (line: string): string => line.trim().split(/\s+/, 1)[0]!.toUpperCase();
