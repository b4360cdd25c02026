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
 * closing `}`) and the statements of its block, which are cut in turn;
 * so is a command holding a large test list (`if anyof (...)`, RFC 5228
 * 5.2), into its head and runs of its tests, as a ',' between tests at the
 * list's bracket depth ends a test whatever follows. In
 * a script whose brackets do not balance the cuts are still somewhere, and
 * the piece holding the mistake reports it: the caller then parses the
 * whole text at once.
 */
import { Comma, Identifier, LBracket, LCurly, LParen, RBracket, RCurly, RParen, Semicolon } from './sieve-lexer.js';
import type { Scan } from './sieve-scanner.js';

const SEMICOLON = Semicolon.tokenTypeIdx!;
const OPENERS = new Set([LCurly.tokenTypeIdx!, LParen.tokenTypeIdx!, LBracket.tokenTypeIdx!]);
const CLOSERS = new Set([RCurly.tokenTypeIdx!, RParen.tokenTypeIdx!, RBracket.tokenTypeIdx!]);
const LCURLY = LCurly.tokenTypeIdx!;
const LPAREN = LParen.tokenTypeIdx!;
const RPAREN = RParen.tokenTypeIdx!;
const COMMA = Comma.tokenTypeIdx!;
const IDENTIFIER = Identifier.tokenTypeIdx!;
const RCURLY = RCurly.tokenTypeIdx!;

/**
 * A piece of a run of statements:
 *   - `run`: the statements from token `from` to just before `to`, parsed
 *     together;
 *   - `block`: one command whose block is cut too: its head (tokens `from`
 *     to its block's '{' at `open`, then the '}' at `close`) parsed as a
 *     command with an empty block, and the statements between them parsed
 *     by `body`, one block deeper;
 *   - `list`: one command holding a large test list (`anyof (...)`, its
 *     '(' at `open`): its head (tokens `from` to the ',' after the list's
 *     first test at `first`,
 *     then from the list's ')' at `close` to the statement's end at `to`)
 *     parsed as a command whose list holds that one test, and the other
 *     tests in `runs`, each from a test's first token to just before the
 *     ',' or ')' after its last.
 */
export type Piece =
  | { kind: 'run'; from: number; to: number }
  | { kind: 'block'; from: number; open: number; close: number; body: Piece[] }
  | { kind: 'list'; from: number; to: number; open: number; first: number; close: number; runs: Array<{ from: number; to: number }> };

/**
 * The pieces of tokens `from` to just before `to` (the whole scan by
 * default), a run of statements at one block depth. Every run but the
 * last holds at least `minTokens` tokens and ends a statement; a statement
 * whose block holds more than twice that is cut into its head and its
 * block's pieces, and a command whose first test list at its own level
 * does (a Sieve++ assignment's targets are not a test list) into its head
 * and runs of its tests. Empty for no tokens.
 */
export function piecesOf(scan: Scan, minTokens: number, from = 0, to = scan.count): Piece[] {
  const pieces: Piece[] = [];
  const types = scan.types;
  let depth = 0;
  let runFrom = from;
  let statementFrom = from;
  /** The '{' of the statement under way at depth 0 (its block's: no other construct holds one). */
  let open = -1;
  /** Its first '(' at depth 0, the ',' between that list's tests, and its ')'. */
  let listOpen = -1;
  let commas: number[] = [];
  let listClose = -1;
  for (let i = from; i < to; i++) {
    const t = types[i]!;
    if (OPENERS.has(t)) {
      if (depth === 0 && t === LCURLY) open = i;
      else if (depth === 0 && t === LPAREN && listOpen < 0) listOpen = i;
      depth++;
      continue;
    }
    if (CLOSERS.has(t)) {
      depth--;
      if (depth === 0 && t === RPAREN && listClose < 0 && listOpen >= 0) listClose = i;
    } else if (t === COMMA && depth === 1 && listOpen >= 0 && listClose < 0) commas.push(i);
    if (depth !== 0 || (t !== SEMICOLON && t !== RCURLY)) continue;
    const command = types[statementFrom] === IDENTIFIER;
    if (t === RCURLY && open >= 0 && i - open - 1 > 2 * minTokens) {
      if (statementFrom > runFrom) pieces.push({ kind: 'run', from: runFrom, to: statementFrom });
      pieces.push({ kind: 'block', from: statementFrom, open, close: i, body: piecesOf(scan, minTokens, open + 1, i) });
      runFrom = i + 1;
    } else if (command && listClose > listOpen && commas.length > 0 && listClose - listOpen - 1 > 2 * minTokens) {
      if (statementFrom > runFrom) pieces.push({ kind: 'run', from: runFrom, to: statementFrom });
      pieces.push({ kind: 'list', from: statementFrom, to: i + 1, open: listOpen, first: commas[0]!, close: listClose, runs: testRuns(commas, listClose, minTokens) });
      runFrom = i + 1;
    } else if (i + 1 - runFrom >= minTokens) {
      pieces.push({ kind: 'run', from: runFrom, to: i + 1 });
      runFrom = i + 1;
    }
    statementFrom = i + 1;
    open = listOpen = listClose = -1;
    commas = [];
  }
  if (runFrom < to) pieces.push({ kind: 'run', from: runFrom, to });
  return pieces;
}

/** The tests after the first of a list (its ',' at `commas`, its ')' at `close`), in runs of at least `minTokens` tokens. */
function testRuns(commas: readonly number[], close: number, minTokens: number): Array<{ from: number; to: number }> {
  const runs: Array<{ from: number; to: number }> = [];
  let from = commas[0]! + 1;
  for (let k = 1; k <= commas.length; k++) {
    const end = k < commas.length ? commas[k]! : close;
    if (end - from >= minTokens || k === commas.length) {
      runs.push({ from, to: end });
      from = end + 1;
    }
  }
  return runs;
}
