/**
 * Where a script can be cut into runs of statements that parse apart
 * exactly as they parse together, so that a host parsing while it serves
 * (a reload: docs/server.md, "SIGHUP") can give the event loop a turn
 * between runs.
 *
 * RFC 5228 8.2: a command ends with its ';' or with the '}' of its block,
 * and a Sieve++ assignment with its ';'. Strings and comments are single
 * tokens, and no other construct holds a ';' or '{' outside brackets, so
 * in a script whose brackets balance, a ';' at bracket depth 0, or a '}'
 * that brings the depth back to 0, ends a top-level statement whatever
 * follows. (`elsif` and `else` are commands of their own, chained to their
 * `if` by the validator, not by the grammar.) The same holds inside a
 * block, one depth further in: a statement that is one large block (a
 * policy wrapped in one `if`) is cut into its head (`if ... {` and the
 * closing `}`) and the statements of its block, which are cut in turn. In
 * a script whose brackets do not balance the cuts are still somewhere, and
 * the piece holding the mistake reports it: the caller then parses the
 * whole text at once.
 */
import { LBracket, LCurly, LParen, RBracket, RCurly, RParen, Semicolon } from './sieve-lexer.js';
import type { Scan } from './sieve-scanner.js';

const SEMICOLON = Semicolon.tokenTypeIdx!;
const OPENERS = new Set([LCurly.tokenTypeIdx!, LParen.tokenTypeIdx!, LBracket.tokenTypeIdx!]);
const CLOSERS = new Set([RCurly.tokenTypeIdx!, RParen.tokenTypeIdx!, RBracket.tokenTypeIdx!]);
const LCURLY = LCurly.tokenTypeIdx!;
const RCURLY = RCurly.tokenTypeIdx!;

/**
 * A piece of a run of statements: either statements from token `from` to
 * just before `to`, parsed together; or one command whose block is cut
 * too: its head (tokens `from` to its block's '{' at `open`, then the '}'
 * at `close`) parsed as a command with an empty block, and the statements
 * between them parsed by `body`, one block deeper.
 */
export type Piece = { from: number; to: number } | { from: number; open: number; close: number; body: Piece[] };

/**
 * The pieces of tokens `from` to just before `to` (the whole scan by
 * default), a run of statements at one block depth. Every run but the
 * last holds at least `minTokens` tokens and ends a statement; a statement
 * whose block holds more than twice that is cut into its head and its
 * block's pieces. Empty for no tokens.
 */
export function piecesOf(scan: Scan, minTokens: number, from = 0, to = scan.count): Piece[] {
  const pieces: Piece[] = [];
  const types = scan.types;
  let depth = 0;
  let runFrom = from;
  let statementFrom = from;
  /** The '{' of the statement under way at depth 0 (its block's: no other construct holds one). */
  let open = -1;
  for (let i = from; i < to; i++) {
    const t = types[i]!;
    if (OPENERS.has(t)) {
      if (depth === 0 && t === LCURLY) open = i;
      depth++;
      continue;
    }
    if (CLOSERS.has(t)) depth--;
    if (depth !== 0 || (t !== SEMICOLON && t !== RCURLY)) continue;
    if (t === RCURLY && open >= 0 && i - open - 1 > 2 * minTokens) {
      if (statementFrom > runFrom) pieces.push({ from: runFrom, to: statementFrom });
      pieces.push({ from: statementFrom, open, close: i, body: piecesOf(scan, minTokens, open + 1, i) });
      runFrom = i + 1;
    } else if (i + 1 - runFrom >= minTokens) {
      pieces.push({ from: runFrom, to: i + 1 });
      runFrom = i + 1;
    }
    statementFrom = i + 1;
    open = -1;
  }
  if (runFrom < to) pieces.push({ from: runFrom, to });
  return pieces;
}
