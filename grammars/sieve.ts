/**
 * Parsing a Sieve script: the one entry point for code outside this
 * directory. The grammar is in sieve-parser.ts, its tokens in
 * sieve-lexer.ts; this file lexes, runs the one shared parser and gathers
 * every diagnostic, positioned and in source order.
 */
import { EOF, type IRecognitionException, type IToken } from './chevrotain.js';
import type { Diagnostic, Position } from '../src/diagnostics.js';
import type { Script } from '../src/sieve/ast.js';
import { defaultParseLimits, type Dialect, type ParseLimits, MOMENTUM_MAX_IDENTIFIER } from './sieve-limits.js';
import { SieveParser } from './sieve-parser.js';
import { isErrorToken, lexSieve, sharedTokens, tokenObjects } from './sieve-tokens.js';
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
  const limits: ParseLimits = { ...defaultParseLimits, ...options.limits };
  const empty: Script = { kind: 'script', commands: [], pos: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } };
  const size = Buffer.byteLength(text);
  if (size > limits.maxScriptSize) {
    const d: Diagnostic = { severity: 'error', message: `script is too large (${size} bytes, at most ${limits.maxScriptSize})`, line: 1, column: 1, offset: 0 };
    return { script: empty, diagnostics: withFile([d], options.file) };
  }
  // Momentum's function names run past Pigeonhole's 32 characters (ec_get_message_received_from_port).
  const lexed = lexSieve(text, options.dialect === 'rfc' ? limits : { ...limits, maxIdentifierLength: Math.max(limits.maxIdentifierLength, MOMENTUM_MAX_IDENTIFIER) });
  parser.lines = lexed.lines;
  parser.scan = lexed.scan;
  parser.settings = { dialect: options.dialect ?? 'momentum', limits };
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
