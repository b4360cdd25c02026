/**
 * Momentum's configuration syntax (ecelerity.conf), as a Chevrotain 11 grammar.
 *
 * Momentum publishes no formal grammar; this one is reconstructed from its
 * documentation (docs/configuration.md describes the result):
 *
 *   file    := { stmt }
 *   stmt    := include | option | scope
 *   include := ("include" | "readonly_include") scalar
 *   option  := KEY "=" value | KEY array
 *   scope   := KEY { scalar } body | KEY "=" body
 *   body    := "{" { stmt } "}"
 *   value   := scalar | "(" { scalar } ")" | "[" { key "=" scalar } "]"
 *   scalar  := BARE | NUMBER | QUOTED
 *
 * A scope takes any number of names so that the 2.x module form
 * `Validate validate/sieve sieve { ... }` (type, module path, instance name)
 * parses with the same rule as `sieve "sieve1" { ... }`; the config model
 * decides how many names each scope type accepts.
 *
 * The parser knows no option or scope names: that is the model's job
 * (src/config/), which reports unknown names with a suggestion. Nothing outside
 * grammars/ sees a Chevrotain type: `parseEcconf` returns a plain AST
 * (ecconf-ast.ts) and positioned errors, and never throws.
 */
import { CstParser, type GrammarOptions, type IParserErrorMessageProvider, type ISerializedGast, type IToken, tokenLabel } from './chevrotain.js';
import type { Position } from '../src/diagnostics.js';
import { type Children, type ConfStatement, type ConfSyntaxError, type VisitSink, isToken, nodes, posOf, statementsOf } from './ecconf-ast.js';
import {
  Equals, Include, LBracket, LCurly, LParen, NumberTok, Quoted, RBracket, RCurly, RParen, ReadonlyInclude, Bare, Word,
  Unterminated, allTokens, lexer,
} from './ecconf-tokens.js';

export type * from './ecconf-ast.js';

export interface EcconfParse {
  statements: ConfStatement[];
  errors: ConfSyntaxError[];
}

/** Scopes, lists and arrays nest at most this deep; deeper input is refused before parsing (the parser recurses). */
export const MAX_NESTING = 64;
/** Past this many syntax errors in one file the rest are noise; the count is reported. */
export const MAX_ERRORS = 50;

// ---------------------------------------------------------------- parser

function describe(token: IToken): string {
  if (token.tokenType.name === 'EOF') return 'end of file';
  const image = token.image.length > 30 ? `${token.image.slice(0, 30)}...` : token.image;
  return `'${image}'`;
}

/** Messages in the words a config author uses, not Chevrotain's token names. */
const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual }) =>
    expected.name === 'EOF' ? `unexpected ${describe(actual)}` : `expected ${tokenLabel(expected)} but found ${describe(actual)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) => `unexpected ${describe(firstRedundant)}`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual, ruleName }) => {
    const firsts = new Set<string>();
    for (const paths of expectedPathsPerAlt) for (const path of paths) if (path[0]) firsts.add(tokenLabel(path[0]));
    const named: Record<string, string> = { statement: 'an option, a scope or an include', value: 'a value', optionValue: 'a value', scalar: 'a name or value' };
    const what = named[ruleName] ?? [...firsts].join(', ');
    return `expected ${what} but found ${describe(actual[0] ?? ({ tokenType: { name: 'EOF' } } as IToken))}`;
  },
  buildEarlyExitMessage: ({ actual }) => `unexpected ${describe(actual[0] ?? ({ tokenType: { name: 'EOF' } } as IToken))}`,
};

export class EcconfParser extends CstParser {
  constructor(options: GrammarOptions = {}) {
    super(allTokens, { skipValidations: !options.validate, recoveryEnabled: true, errorMessageProvider: messages, maxLookahead: 2 });
    this.performSelfAnalysis();
  }

  file = this.RULE('file', () => {
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.statement) },
        // A '}' with no scope to close would otherwise end the parse and hide every later error.
        { ALT: () => this.CONSUME(RCurly, { LABEL: 'stray' }) },
      ]),
    );
  });

  statement = this.RULE('statement', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.include) },
      { ALT: () => this.SUBRULE(this.entry) },
      { ALT: () => this.SUBRULE(this.stray) },
    ]);
  });

  /**
   * A token that cannot start a statement. Consuming it (and reporting it)
   * lets the parse go on to the errors after it; without this rule the
   * statement loop would stop at the first such token.
   */
  stray = this.RULE('stray', () => {
    this.OR([
      { ALT: () => this.CONSUME(Equals) },
      { ALT: () => this.CONSUME(NumberTok) },
      { ALT: () => this.CONSUME(Quoted) },
      { ALT: () => this.CONSUME(LCurly) },
      { ALT: () => this.CONSUME(LParen) },
      { ALT: () => this.CONSUME(RParen) },
      { ALT: () => this.CONSUME(LBracket) },
      { ALT: () => this.CONSUME(RBracket) },
    ]);
  });

  include = this.RULE('include', () => {
    this.OR([{ ALT: () => this.CONSUME(Include) }, { ALT: () => this.CONSUME(ReadonlyInclude) }]);
    this.SUBRULE(this.scalar);
  });

  /**
   * An option or a scope: both start with a key; `=` or the names and `{` tell
   * them apart. The scope's braces are optional here so that `port 25` (a
   * forgotten `=`) is reported at the key by the visitor, in words about the
   * key, rather than as a missing `{` wherever the next token happens to be.
   */
  entry = this.RULE('entry', () => {
    this.CONSUME(Bare, { LABEL: 'key' });
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Equals);
          this.SUBRULE(this.optionValue);
        },
      },
      {
        ALT: () => {
          this.MANY(() => this.SUBRULE(this.scalar, { LABEL: 'names' }));
          // `bits [ ... ]` and `hook:name [ ... ]` are arrays without '=' (url_ripper, delay_dsn pages).
          this.OPTION(() =>
            this.OR3([
              { ALT: () => this.SUBRULE2(this.body) },
              { ALT: () => this.SUBRULE(this.array, { LABEL: 'bareArray' }) },
            ]),
          );
        },
      },
    ]);
  });

  /** Momentum also writes a scope as `Esmtp_Listener = { ... }` (policy-context-based-on-ip.md). */
  optionValue = this.RULE('optionValue', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.value) },
      { ALT: () => this.SUBRULE(this.body) },
    ]);
  });

  body = this.RULE('body', () => {
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.statement));
    this.CONSUME(RCurly);
  });

  value = this.RULE('value', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.scalar) },
      { ALT: () => this.SUBRULE(this.list) },
      { ALT: () => this.SUBRULE(this.array) },
    ]);
  });

  list = this.RULE('list', () => {
    this.CONSUME(LParen);
    this.MANY(() => this.SUBRULE(this.scalar));
    this.CONSUME(RParen);
  });

  array = this.RULE('array', () => {
    this.CONSUME(LBracket);
    this.MANY(() => this.SUBRULE(this.pair));
    this.CONSUME(RBracket);
  });

  pair = this.RULE('pair', () => {
    this.OR([{ ALT: () => this.CONSUME(Word, { LABEL: 'key' }) }, { ALT: () => this.CONSUME(Quoted, { LABEL: 'key' }) }]);
    this.CONSUME(Equals);
    this.SUBRULE(this.scalar);
  });

  scalar = this.RULE('scalar', () => {
    this.OR([{ ALT: () => this.CONSUME(Word) }, { ALT: () => this.CONSUME(Quoted) }]);
  });
}

/** One parser for every parse: Chevrotain's self-analysis is costly and runs once. */
const parser = new EcconfParser();

/** The grammar in Chevrotain's serialized form, for scripts/grammar-diagrams.ts (railroad diagrams). */
export function serializedGrammar(): ISerializedGast[] {
  return parser.getSerializedGastProductions();
}
// ---------------------------------------------------------------- entry point

function endPosition(text: string): Position {
  const lines = text.split('\n');
  const last = lines[lines.length - 1] ?? '';
  return { line: lines.length, column: last.length + 1, offset: text.length };
}

/** Parses one file's text. Never throws: every problem comes back in `errors`, in source order. */
export function parseEcconf(text: string): EcconfParse {
  const errors: ConfSyntaxError[] = [];
  const lexed = lexer.tokenize(text);
  for (const e of lexed.errors) {
    errors.push({ message: `unexpected character '${text.slice(e.offset, e.offset + e.length).slice(0, 10)}'`, pos: { line: e.line ?? 1, column: e.column ?? 1, offset: e.offset } });
  }
  for (const t of lexed.groups['comments'] ?? []) {
    if (!t.image.endsWith('*/') || t.image.length < 4) errors.push({ message: "unterminated comment: '/*' without '*/'", pos: posOf(t) });
  }
  // Open brackets, innermost last: bounds the nesting, and names the brace a file forgot to close.
  const open: IToken[] = [];
  for (const t of lexed.tokens) {
    if (t.tokenType === Unterminated) errors.push({ message: 'unterminated quoted string', pos: posOf(t) });
    if (t.tokenType === LCurly || t.tokenType === LParen || t.tokenType === LBracket) open.push(t);
    else if (t.tokenType === RCurly || t.tokenType === RParen || t.tokenType === RBracket) open.pop();
    if (open.length > MAX_NESTING) {
      errors.push({ message: `nesting deeper than ${MAX_NESTING} levels`, pos: posOf(t) });
      return { statements: [], errors };
    }
  }

  parser.input = lexed.tokens;
  const cst = parser.file();
  const end = endPosition(text);
  const unclosed = open.filter((t) => t.tokenType === LCurly);
  for (const e of parser.errors) {
    const t = e.token;
    const atEnd = t.tokenType.name === 'EOF' || Number.isNaN(t.startOffset);
    const brace = atEnd && e.message === "expected '}' but found end of file" ? unclosed.pop() : undefined;
    const message = brace ? `the '{' at line ${brace.startLine}, column ${brace.startColumn} is never closed: expected '}' before the end of the file` : e.message;
    errors.push({ message, pos: atEnd ? end : posOf(t) });
  }
  const sink: VisitSink = { strays: [], errors };
  for (const t of cst.children['stray'] ?? []) if (isToken(t)) sink.strays.push(t);
  const statements = statementsOf(nodes(cst.children as Children, 'statement'), sink);
  reportStrays(sink.strays, lexed.tokens, errors);
  errors.sort((a, b) => a.pos.offset - b.pos.offset);
  if (errors.length > MAX_ERRORS) {
    const more = errors.length - MAX_ERRORS;
    errors.length = MAX_ERRORS;
    errors.push({ message: `${more} more syntax errors not shown`, pos: errors[MAX_ERRORS - 1]!.pos });
  }
  return { statements, errors };
}

/** One error per run of stray tokens: `= = =` is one mistake, not three. */
function reportStrays(strays: IToken[], tokens: IToken[], errors: ConfSyntaxError[]): void {
  if (!strays.length) return;
  const index = new Map(tokens.map((t, i) => [t.startOffset, i]));
  const strayIndex = new Set(strays.map((t) => index.get(t.startOffset)));
  for (const t of strays) {
    const i = index.get(t.startOffset);
    if (i !== undefined && strayIndex.has(i - 1)) continue;
    const hint = t.tokenType === RCurly ? ": no scope is open here" : '; expected an option, a scope or an include';
    errors.push({ message: `unexpected ${describe(t)}${hint}`, pos: posOf(t) });
  }
}
