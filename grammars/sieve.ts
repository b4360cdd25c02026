/**
 * Parsing a Sieve script: the one entry point for code outside this
 * directory. The grammar is in sieve-parser.ts, its tokens in
 * sieve-lexer.ts; this file lexes, runs the one shared parser and gathers
 * every diagnostic, positioned and in source order.
 */
import { EOF, type IRecognitionException, type IToken } from './chevrotain.js';
import type { Diagnostic, Position } from '../src/diagnostics.js';
import { nextSlice, type SliceClock, sliceOver } from '../src/next-turn.js';
import type { Command, Script, Statement, Test } from '../src/sieve/ast.js';
import { defaultParseLimits, type Dialect, type ParseLimits, type ParseSettings, MOMENTUM_MAX_IDENTIFIER } from './sieve-limits.js';
import { type Piece, piecesOf } from './sieve-pieces.js';
import { startOf, withBlock, withTests } from './sieve-nodes.js';
import { SieveParser } from './sieve-parser.js';
import { isErrorToken, lexSieve, sharedToken, sharedTokens, tokenObjects } from './sieve-tokens.js';
import { scanSieve } from './sieve-scanner.js';

export { type Dialect, defaultParseLimits, type ParseLimits, type ParseSettings, MOMENTUM_MAX_IDENTIFIER } from './sieve-limits.js';
export { lexSieve } from './sieve-tokens.js';

const NO_TOKENS: IToken[] = [];
const NO_SCAN = scanSieve('');

/** One parser for every parse: Chevrotain's grammar analysis runs once, at load (its performance guide). */
const parser = new SieveParser();

export interface ParseOptions {
  /** The file name used in diagnostics. */
  file?: string;
  /** 'momentum' (the default) accepts Sieve++; 'rfc' refuses it. */
  dialect?: Dialect;
  limits?: Partial<ParseLimits>;
}

export interface ParseResult {
  /** The AST; when `diagnostics` holds errors it is partial and must not be run. */
  script: Script;
  /** Errors and warnings, in source order. */
  diagnostics: Diagnostic[];
}

/**
 * Parses a Sieve script. Never throws: every problem comes back as a
 * positioned diagnostic, and the input is bounded in size and nesting.
 */
export function parseSieve(text: string, options: ParseOptions = {}): ParseResult {
  const lexed = lex(text, options);
  return 'script' in lexed ? lexed : parseLexed(text, lexed, options);
}

type Lexed = ReturnType<typeof lexSieve> & { settings: ParseSettings };

const emptyScript = (): Script => ({ kind: 'script', commands: [], pos: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } });

/** The text's tokens, or the result for a text too large to read. */
function lex(text: string, options: ParseOptions): Lexed | ParseResult {
  const limits: ParseLimits = { ...defaultParseLimits, ...options.limits };
  const size = Buffer.byteLength(text);
  if (size > limits.maxScriptSize) {
    const d: Diagnostic = { severity: 'error', message: `script is too large (${size} bytes, at most ${limits.maxScriptSize})`, line: 1, column: 1, offset: 0 };
    return { script: emptyScript(), diagnostics: withFile([d], options.file) };
  }
  // Momentum's function names run past Pigeonhole's 32 characters (ec_get_message_received_from_port).
  const lexed = lexSieve(text, options.dialect === 'rfc' ? limits : { ...limits, maxIdentifierLength: Math.max(limits.maxIdentifierLength, MOMENTUM_MAX_IDENTIFIER) });
  return { ...lexed, settings: { dialect: options.dialect ?? 'momentum', limits } };
}

function parseLexed(text: string, lexed: Lexed, options: ParseOptions): ParseResult {
  const empty = emptyScript();
  parser.lines = lexed.lines;
  parser.scan = lexed.scan;
  parser.settings = lexed.settings;
  parser.base = 0;
  // A script with no error is parsed over shared token objects (no object
  // per token); one with an error is parsed (again) over tokens of their
  // own, whose offsets and images the messages need. Both parses build the
  // same AST: the actions read the Scan either way.
  let script = lexed.malformed ? undefined : parseOver(sharedTokens(lexed.scan), empty);
  if (script === undefined || parser.errors.length || parser.diagnostics.length) script = parseOver(tokenObjects(lexed.scan), empty);
  const recognition = parser.errors
    .filter((err: IRecognitionException) => !isErrorToken(err.token))
    .map((err): Diagnostic => ({ severity: 'error', message: err.message, ...tokenPosition(err.token, text) }));
  const diagnostics = [...lexed.diagnostics, ...parser.diagnostics, ...recognition].sort((a, b) => a.offset - b.offset);
  // The shared parser would otherwise hold every token of this script (as
  // many bytes as the AST) until the next parse.
  parser.input = NO_TOKENS;
  parser.scan = NO_SCAN;
  return { script, diagnostics: withFile(diagnostics, options.file) };
}

/**
 * The statements of tokens `from` to just before `to`, parsed on their own
 * at block `depth`, then tokens `tail[0]` to just before `tail[1]` when
 * given (after a gap: the middle of a large block or test list is left to
 * other pieces); undefined when that run holds any problem.
 */
function parsePiece(lexed: Lexed, from: number, to: number, depth: number, tail?: readonly [number, number]): Statement[] | undefined {
  const tokens = sharedTokens(lexed.scan, from, to);
  if (tail) for (let i = tail[0]; i < tail[1]; i++) tokens.push(sharedToken(lexed.scan, i));
  const script = withPiece(lexed, from, depth, tail ? [to - from, tail[0] - to] : undefined, () => parseOver(tokens, emptyScript()));
  return script && script.commands;
}

/** Tests `from` to just before `to`, separated by ',', parsed at test nesting `level`; undefined when they hold any problem. */
function parseTests(lexed: Lexed, from: number, to: number, level: number): Test[] | undefined {
  return withPiece(lexed, from, 0, undefined, () => {
    parser.input = sharedTokens(lexed.scan, from, to);
    const tests = parser.testRun(level);
    return parser.atEnd() ? tests : undefined;
  });
}

/** Runs `parse` with the shared parser set up for a piece (`gap`: its input index and length); its result when clean. */
function withPiece<T>(lexed: Lexed, from: number, depth: number, gap: readonly [number, number] | undefined, parse: () => T | undefined): T | undefined {
  parser.lines = lexed.lines;
  parser.scan = lexed.scan;
  parser.settings = lexed.settings;
  parser.base = from;
  parser.depth = depth;
  if (gap) [parser.gapAt, parser.gapLength] = gap;
  let result: T | undefined;
  try {
    result = parse();
  } catch {
    result = undefined;
  }
  const clean = parser.errors.length === 0 && parser.diagnostics.length === 0;
  parser.input = NO_TOKENS;
  parser.scan = NO_SCAN;
  parser.base = 0;
  parser.depth = 0;
  parser.gapAt = Number.POSITIVE_INFINITY;
  parser.gapLength = 0;
  return clean ? result : undefined;
}

/**
 * parseSieve in turns of the event loop, for a host that parses while it
 * serves (a reload: docs/server.md, "SIGHUP"). The text is lexed in one
 * turn (about 10 ms for 1 MiB); its statements are then parsed a run at a
 * time (sieve-pieces.ts: runs of at least `pieceTokens`, and a large
 * block's statements in runs of their own), and the event loop gets a turn
 * whenever `sliceMs` has passed since the last. The same result as
 * parseSieve: a piece that finds any problem hands the whole text to one
 * parse, whose recovery and messages need the whole script. Each piece
 * sets the shared parser up afresh, as another parse may have run in
 * between.
 */
export async function parseSieveInSlices(text: string, options: ParseOptions & { sliceMs: number; pieceTokens?: number }): Promise<ParseResult> {
  // The lexing is the first slice's work too: the turn it takes goes on only to the slice's end.
  const clock = { sliceMs: options.sliceMs, since: performance.now() };
  const lexed = lex(text, options);
  if ('script' in lexed) return lexed;
  if (lexed.malformed) return parseLexed(text, lexed, options);
  const scan = lexed.scan;
  const commands = await parsePieces(lexed, piecesOf(scan, options.pieceTokens ?? PIECE_TOKENS), 0, clock);
  if (commands === undefined) return parseLexed(text, lexed, options);
  // From the first token to the end of the last, as the script rule places a whole parse.
  const last = scan.count - 1;
  const script = emptyScript();
  script.commands = commands;
  if (last >= 0) {
    script.pos = lexed.lines.position(scan.starts[0]!);
    script.end = lexed.lines.endOf(scan.starts[last]!, scan.stops[last]! - scan.starts[last]!);
  }
  return { script, diagnostics: withFile([...lexed.diagnostics].sort((a, b) => a.offset - b.offset), options.file) };
}

/** The statements of `pieces` at block `depth`, a turn given whenever the clock's slice is over; undefined at the first piece with a problem. */
async function parsePieces(lexed: Lexed, pieces: Piece[], depth: number, clock: SliceClock): Promise<Statement[] | undefined> {
  const statements: Statement[] = [];
  for (const piece of pieces) {
    if (sliceOver(clock)) await nextSlice(clock);
    if (piece.kind === 'run') {
      const run = parsePiece(lexed, piece.from, piece.to, depth);
      if (run === undefined) return undefined;
      for (const s of run) statements.push(s);
      continue;
    }
    if (piece.kind === 'block') {
      // The command with an empty block, then its block's statements one depth in.
      const head = parsePiece(lexed, piece.from, piece.open + 1, depth, [piece.close, piece.close + 1]);
      if (head?.length !== 1 || head[0]!.kind !== 'command') return undefined;
      const block = await parsePieces(lexed, piece.body, depth + 1, clock);
      if (block === undefined) return undefined;
      statements.push(withBlock(head[0]!, block, lexed.scan.stops[piece.close]!));
      continue;
    }
    // The command with its list's first test, then the other tests a run at a time, at the list's level.
    const head = parsePiece(lexed, piece.from, piece.first, depth, [piece.close, piece.to]);
    const command = head?.length === 1 && head[0]!.kind === 'command' ? head[0] : undefined;
    const owner = command && listOwner(command, 0, lexed.scan.starts[piece.open + 1]!);
    if (!owner) return undefined;
    const tests = [...owner.node.tests];
    for (const run of piece.runs) {
      if (sliceOver(clock)) await nextSlice(clock);
      const more = parseTests(lexed, run.from, run.to, owner.level);
      if (more === undefined) return undefined;
      for (const t of more) tests.push(t);
    }
    withTests(owner.node, tests);
    statements.push(command!);
  }
  return statements;
}

/** The command or test (nested `level` deep: 0 for the command) whose test list begins with a test at offset `start`, and the level its tests are parsed at. */
function listOwner(node: Command | Test, level: number, start: number): { node: Command | Test; level: number } | undefined {
  if (node.testList && node.tests.length === 1 && startOf(node.tests[0]!) === start) return { node, level: level + 1 };
  for (const t of node.tests) {
    const found = listOwner(t, level + 1, start);
    if (found) return found;
  }
  return undefined;
}

/** About 14 KiB of the benchmark's script: about a millisecond to parse. */
const PIECE_TOKENS = 2048;


function parseOver(tokens: IToken[], empty: Script): Script {
  parser.input = tokens;
  try {
    return parser.script() ?? empty;
  } catch (e) {
    // Recovery handles every recognition error; anything else is a bug, but
    // it must still come back as a diagnostic, not crash the caller.
    parser.diagnostics.push({ severity: 'error', message: `internal parser error: ${(e as Error).message}`, line: 1, column: 1, offset: 0 });
    return empty;
  }
}

function tokenPosition(token: IToken, text: string): Position {
  if (token.tokenType === EOF || Number.isNaN(token.startOffset) || token.startOffset < 0) {
    return positionAt(text, text.length);
  }
  return parser.pos(token);
}

/** The position of an offset, for the end of input (which has no token). */
export function positionAt(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1, offset };
}

function withFile(diagnostics: Diagnostic[], file: string | undefined): Diagnostic[] {
  return file === undefined ? diagnostics : diagnostics.map((d) => ({ ...d, file }));
}

/** The grammar in Chevrotain's serialised form, for the railroad diagrams. */
export function serializedGrammar() {
  return parser.getSerializedGastProductions();
}
