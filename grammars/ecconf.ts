/**
 * Momentum's configuration syntax (ecelerity.conf), as a Chevrotain 11 grammar.
 *
 * Momentum publishes no formal grammar; this one is reconstructed from its
 * documentation (see shared/spec/config.md):
 *
 *   file    := { stmt }
 *   stmt    := include | option | scope
 *   include := ("include" | "readonly_include") scalar
 *   option  := KEY "=" value
 *   scope   := KEY { scalar } "{" { stmt } "}"
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
 * this file sees a Chevrotain type: `parseEcconf` returns a plain AST and
 * positioned errors, and never throws.
 */
import {
  type CstNode,
  CstParser,
  type IParserErrorMessageProvider,
  type IToken,
  Lexer,
  type TokenType,
  createToken,
  tokenLabel,
} from 'chevrotain';
import type { Position } from '../src/diagnostics.js';

// ---------------------------------------------------------------- tokens

const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\f\v]+/, group: Lexer.SKIPPED, line_breaks: true });
const LineComment = createToken({ name: 'LineComment', pattern: /#[^\n]*/, group: Lexer.SKIPPED });

/**
 * `/* ... *\/`. An unterminated comment runs to the end of the input (a custom
 * matcher, because Chevrotain refuses `$` anchors); the lexer pass below turns
 * it into an error instead of failing on every character after it.
 */
const BlockComment = createToken({
  name: 'BlockComment',
  pattern: {
    exec: (text: string, offset: number): RegExpExecArray | null => {
      if (!text.startsWith('/*', offset)) return null;
      const close = text.indexOf('*/', offset + 2);
      const end = close < 0 ? text.length : close + 2;
      const match = [text.slice(offset, end)] as unknown as RegExpExecArray;
      match.index = offset;
      match.input = text;
      return match;
    },
  },
  start_chars_hint: ['/'],
  line_breaks: true,
  group: 'comments',
});

/** Any scalar that is not quoted: names, keys, bare values, numbers, keywords. */
const Word = createToken({ name: 'Word', pattern: Lexer.NA, label: 'a name or value' });

// A bare word stops at whitespace and at the characters Momentum says must be
// quoted (# " ' = { } [ ] ( )). `/` is allowed so that `10.0.0.0/8` and
// `validate/sieve` stay bare, except where it opens a comment.
const Bare = createToken({ name: 'Bare', pattern: /(?:[^\s#"'={}[\]()/]|\/(?!\*))+/, categories: [Word], label: 'a name or value' });
const NumberTok = createToken({ name: 'Number', pattern: /-?\d+(?:\.\d+)?/, longer_alt: Bare, categories: [Word], label: 'a number' });
const ReadonlyInclude = createToken({ name: 'ReadonlyInclude', pattern: /readonly_include/i, longer_alt: Bare, categories: [Word], label: "'readonly_include'" });
const Include = createToken({ name: 'Include', pattern: /include/i, longer_alt: Bare, categories: [Word], label: "'include'" });

const Quoted = createToken({ name: 'Quoted', pattern: /"(?:[^"\\\n]|\\[^\n])*"|'(?:[^'\\\n]|\\[^\n])*'/, label: 'a quoted string' });
/** A quote that never closes on its line: parsed as a string, reported once by the lexer pass. */
const Unterminated = createToken({ name: 'Unterminated', pattern: /"(?:[^"\\\n]|\\[^\n])*\\?|'(?:[^'\\\n]|\\[^\n])*\\?/, categories: [Quoted], label: 'a quoted string' });

const LCurly = createToken({ name: 'LCurly', pattern: '{', label: "'{'" });
const RCurly = createToken({ name: 'RCurly', pattern: '}', label: "'}'" });
const LParen = createToken({ name: 'LParen', pattern: '(', label: "'('" });
const RParen = createToken({ name: 'RParen', pattern: ')', label: "')'" });
const LBracket = createToken({ name: 'LBracket', pattern: '[', label: "'['" });
const RBracket = createToken({ name: 'RBracket', pattern: ']', label: "']'" });
const Equals = createToken({ name: 'Equals', pattern: '=', label: "'='" });

const allTokens: TokenType[] = [
  WhiteSpace, LineComment, BlockComment,
  Quoted, Unterminated,
  LCurly, RCurly, LParen, RParen, LBracket, RBracket, Equals,
  ReadonlyInclude, Include, NumberTok, Bare, Word,
];

const lexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: false });

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
    const named: Record<string, string> = { statement: 'an option, a scope or an include', value: 'a value', scalar: 'a name or value' };
    const what = named[ruleName] ?? [...firsts].join(', ');
    return `expected ${what} but found ${describe(actual[0] ?? ({ tokenType: { name: 'EOF' } } as IToken))}`;
  },
  buildEarlyExitMessage: ({ actual }) => `unexpected ${describe(actual[0] ?? ({ tokenType: { name: 'EOF' } } as IToken))}`,
};

class EcconfParser extends CstParser {
  constructor() {
    super(allTokens, { recoveryEnabled: true, errorMessageProvider: messages, maxLookahead: 2 });
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

  /** An option or a scope: both start with a key; `=` or the names and `{` tell them apart. */
  entry = this.RULE('entry', () => {
    this.CONSUME(Bare, { LABEL: 'key' });
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Equals);
          this.SUBRULE(this.value);
        },
      },
      {
        ALT: () => {
          this.MANY(() => this.SUBRULE(this.scalar, { LABEL: 'names' }));
          this.CONSUME(LCurly);
          this.MANY2(() => this.SUBRULE(this.statement));
          this.CONSUME(RCurly);
        },
      },
    ]);
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

/** The grammar in Chevrotain's serialized form, for syntax diagrams. */
export function ecconfSerializedGrammar(): unknown {
  return parser.getSerializedGastProductions();
}

// ---------------------------------------------------------------- AST

export interface ConfScalar {
  kind: 'scalar';
  /** The value with quotes removed and escapes resolved. */
  text: string;
  quoted: boolean;
  /** Lexed as a number (`25`, `0666`, `1.5`); `text` keeps the digits as written. */
  numeric: boolean;
  pos: Position;
}
export interface ConfList {
  kind: 'list';
  items: ConfScalar[];
  pos: Position;
}
export interface ConfPair {
  key: string;
  keyPos: Position;
  value: ConfScalar;
}
export interface ConfArray {
  kind: 'array';
  entries: ConfPair[];
  pos: Position;
}
export type ConfValue = ConfScalar | ConfList | ConfArray;

export interface ConfOption {
  kind: 'option';
  key: string;
  pos: Position;
  value: ConfValue;
}
export interface ConfScope {
  kind: 'scope';
  type: string;
  pos: Position;
  names: ConfScalar[];
  body: ConfStatement[];
}
export interface ConfInclude {
  kind: 'include';
  readonly: boolean;
  path: ConfScalar;
  pos: Position;
}
export type ConfStatement = ConfOption | ConfScope | ConfInclude;

export interface ConfSyntaxError {
  message: string;
  pos: Position;
}
export interface EcconfParse {
  statements: ConfStatement[];
  errors: ConfSyntaxError[];
}

/** Scopes, lists and arrays nest at most this deep; deeper input is refused before parsing (the parser recurses). */
export const MAX_NESTING = 64;
/** Past this many syntax errors in one file the rest are noise; the count is reported. */
export const MAX_ERRORS = 50;

// ---------------------------------------------------------------- CST -> AST

type Children = Record<string, Array<CstNode | IToken> | undefined>;

function isToken(x: CstNode | IToken | undefined): x is IToken {
  return x !== undefined && 'image' in x;
}
function node(children: Children, label: string): CstNode | undefined {
  const c = children[label]?.[0];
  return c && !isToken(c) ? c : undefined;
}
function nodes(children: Children, label: string): CstNode[] {
  return (children[label] ?? []).filter((c): c is CstNode => !isToken(c));
}
function token(children: Children, label: string): IToken | undefined {
  const c = children[label]?.[0];
  // Tokens that recovery inserted carry no text from the input.
  return isToken(c) && !c.isInsertedInRecovery ? c : undefined;
}
function posOf(t: IToken): Position {
  return { line: t.startLine ?? 1, column: t.startColumn ?? 1, offset: t.startOffset };
}

function unquote(image: string): string {
  const quote = image[0];
  let body = image.slice(1);
  if (body.endsWith(quote ?? '') && body.length > 0) body = body.slice(0, -1);
  // `\x` stands for `x`: that covers `\"`, `\'` and `\\`, and keeps paths with other backslashes readable.
  return body.replace(/\\(.)/g, '$1');
}

/**
 * The visitor: a set of pure functions from CST node to AST node. A node that
 * error recovery left incomplete yields `undefined` and is dropped; its error
 * is already in the parser's list.
 */
function scalarOf(n: CstNode | undefined): ConfScalar | undefined {
  if (!n || n.recoveredNode) return undefined;
  const c = n.children as Children;
  const t = token(c, 'Word') ?? token(c, 'Quoted');
  if (!t) return undefined;
  const quoted = t.tokenType === Quoted || t.tokenType === Unterminated;
  return { kind: 'scalar', text: quoted ? unquote(t.image) : t.image, quoted, numeric: t.tokenType === NumberTok, pos: posOf(t) };
}

function valueOf(n: CstNode | undefined): ConfValue | undefined {
  if (!n || n.recoveredNode) return undefined;
  const c = n.children as Children;
  const s = node(c, 'scalar');
  if (s) return scalarOf(s);
  const l = node(c, 'list');
  if (l) {
    const lc = l.children as Children;
    const open = token(lc, 'LParen');
    if (!open || l.recoveredNode) return undefined;
    const items = nodes(lc, 'scalar').map(scalarOf).filter((x): x is ConfScalar => x !== undefined);
    return { kind: 'list', items, pos: posOf(open) };
  }
  const a = node(c, 'array');
  if (a) {
    const ac = a.children as Children;
    const open = token(ac, 'LBracket');
    if (!open || a.recoveredNode) return undefined;
    const entries: ConfPair[] = [];
    for (const p of nodes(ac, 'pair')) {
      const pc = p.children as Children;
      const key = token(pc, 'key');
      const value = scalarOf(node(pc, 'scalar'));
      if (!key || !value || p.recoveredNode) continue;
      const quoted = key.tokenType === Quoted || key.tokenType === Unterminated;
      entries.push({ key: quoted ? unquote(key.image) : key.image, keyPos: posOf(key), value });
    }
    return { kind: 'array', entries, pos: posOf(open) };
  }
  return undefined;
}

function statementOf(n: CstNode, strays: IToken[]): ConfStatement | undefined {
  const c = n.children as Children;
  const stray = node(c, 'stray');
  if (stray) {
    for (const t of Object.values(stray.children as Children).flat()) if (isToken(t)) strays.push(t);
    return undefined;
  }
  const inc = node(c, 'include');
  if (inc) {
    const ic = inc.children as Children;
    const kw = token(ic, 'Include') ?? token(ic, 'ReadonlyInclude');
    const path = scalarOf(node(ic, 'scalar'));
    if (!kw || !path) return undefined;
    return { kind: 'include', readonly: kw.tokenType === ReadonlyInclude, path, pos: posOf(kw) };
  }
  const entry = node(c, 'entry');
  if (!entry) return undefined;
  const ec = entry.children as Children;
  const key = token(ec, 'key');
  if (!key) return undefined;
  if (ec.Equals) {
    const value = valueOf(node(ec, 'value'));
    return value && token(ec, 'Equals') ? { kind: 'option', key: key.image, pos: posOf(key), value } : undefined;
  }
  // A scope whose `{` recovery had to invent is not a scope the author wrote.
  if (!token(ec, 'LCurly')) return undefined;
  const names = nodes(ec, 'names').map(scalarOf).filter((x): x is ConfScalar => x !== undefined);
  return { kind: 'scope', type: key.image, pos: posOf(key), names, body: statementsOf(nodes(ec, 'statement'), strays) };
}

function statementsOf(list: CstNode[], strays: IToken[]): ConfStatement[] {
  return list.map((n) => statementOf(n, strays)).filter((x): x is ConfStatement => x !== undefined);
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
  let depth = 0;
  for (const t of lexed.tokens) {
    if (t.tokenType === Unterminated) errors.push({ message: 'unterminated quoted string', pos: posOf(t) });
    if (t.tokenType === LCurly || t.tokenType === LParen || t.tokenType === LBracket) depth++;
    else if (t.tokenType === RCurly || t.tokenType === RParen || t.tokenType === RBracket) depth = Math.max(0, depth - 1);
    if (depth > MAX_NESTING) {
      errors.push({ message: `nesting deeper than ${MAX_NESTING} levels`, pos: posOf(t) });
      return { statements: [], errors };
    }
  }

  parser.input = lexed.tokens;
  const cst = parser.file();
  const end = endPosition(text);
  for (const e of parser.errors) {
    const t = e.token;
    const atEnd = t.tokenType.name === 'EOF' || Number.isNaN(t.startOffset);
    errors.push({ message: e.message, pos: atEnd ? end : posOf(t) });
  }
  const strays: IToken[] = [];
  for (const t of cst.children['stray'] ?? []) if (isToken(t)) strays.push(t);
  const statements = statementsOf(nodes(cst.children as Children, 'statement'), strays);
  reportStrays(strays, lexed.tokens, errors);
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
