/**
 * Where a script can be cut into runs of top-level statements that parse
 * apart exactly as they parse together, so that a host parsing while it
 * serves (a reload: docs/server.md, "SIGHUP") can give the event loop a
 * turn between runs.
 *
 * RFC 5228 8.2: a command ends with its ';' or with the '}' of its block,
 * and a Sieve++ assignment with its ';'. Strings and comments are single
 * tokens, and no other construct holds a ';' or '{' outside brackets, so
 * in a script whose brackets balance, a ';' at bracket depth 0, or a '}'
 * that brings the depth back to 0, ends a top-level statement whatever
 * follows. (`elsif` and `else` are commands of their own, chained to their
 * `if` by the validator, not by the grammar.) In a script whose brackets
 * do not balance the cuts are still somewhere, and the piece holding the
 * mistake reports it: the caller then parses the whole text at once.
 */
import { LBracket, LCurly, LParen, RBracket, RCurly, RParen, Semicolon } from './sieve-lexer.js';
import type { Scan } from './sieve-scanner.js';

const SEMICOLON = Semicolon.tokenTypeIdx!;
const OPENERS = new Set([LCurly.tokenTypeIdx!, LParen.tokenTypeIdx!, LBracket.tokenTypeIdx!]);
const CLOSERS = new Set([RCurly.tokenTypeIdx!, RParen.tokenTypeIdx!, RBracket.tokenTypeIdx!]);
const RCURLY = RCurly.tokenTypeIdx!;

/**
 * The token indices just past each piece: every piece but the last ends a
 * top-level statement and holds at least `minTokens` tokens (the last
 * holds the rest). Empty for a script of no tokens.
 */
export function pieceEnds(scan: Scan, minTokens: number): number[] {
  const ends: number[] = [];
  const types = scan.types;
  let depth = 0;
  let from = 0;
  for (let i = 0; i < scan.count; i++) {
    const t = types[i]!;
    if (OPENERS.has(t)) depth++;
    else if (CLOSERS.has(t)) depth--;
    if (depth === 0 && (t === SEMICOLON || t === RCURLY) && i + 1 - from >= minTokens) {
      ends.push(i + 1);
      from = i + 1;
    }
  }
  if (from < scan.count) ends.push(scan.count);
  return ends;
}
