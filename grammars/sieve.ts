/**
 * The Sieve grammar: RFC 5228 section 8.2, plus Momentum's Sieve++ forms
 * (`$x = cmd args;`, `($a, $b) = cmd args;`, `$x` and `$h["k"]` arguments).
 *
 *   start       = commands
 *   commands    = *(command / assignment)
 *   command     = identifier arguments ( ";" / block )
 *   block       = "{" commands "}"
 *   arguments   = *argument [ test / test-list ]
 *   argument    = string-list / number / tag / variable
 *   test        = identifier arguments
 *   test-list   = "(" test *("," test) ")"
 *   string-list = "[" string *("," string) "]" / string
 *   string      = quoted-string / multi-line
 *   assignment  = ( variable / "(" variable *("," variable) ")" ) "=" ( identifier arguments / argument ) ";"
 *   variable    = "$" identifier *( "[" ( string / number / variable ) "]" )   ; no space before "["
 *
 * The parser knows no command names. It builds the AST of src/sieve/ast.ts
 * directly (embedded actions: one pass, no CST), and nothing past this
 * directory sees a Chevrotain type.
 *
 * Error recovery follows Pigeonhole's parser, so that one run reports every
 * independent mistake and no mistake twice: an error inside a command skips
 * to the next ';' (or parses the '{' block that follows), an error in a test
 * list or string list skips to its closing bracket, an error in a block skips
 * to its '}'. Chevrotain's own heuristics (token insertion and deletion,
 * follow-set resynchronisation) are off because they report one mistake
 * several times.
 */
import {
  EmbeddedActionsParser,
  EOF,
  type IParserErrorMessageProvider,
  type IRecognitionException,
  type IToken,
  type TokenType,
  isRecognitionException,
  MismatchedTokenException,
} from './chevrotain.js';
import type { Diagnostic, Position } from '../src/diagnostics.js';
import type {
  Argument,
  Assignment,
  Call,
  Command,
  NumberArg,
  Script,
  Statement,
  StringArg,
  StringListArg,
  TagArg,
  Test,
  VariableArg,
} from '../src/sieve/ast.js';
import {
  allTokens,
  Comma,
  Equals,
  Identifier,
  LBracket,
  LCurly,
  LParen,
  MultiLine,
  NumberLiteral,
  QuotedString,
  RBracket,
  RCurly,
  RParen,
  Semicolon,
  Tag,
  Variable,
} from './sieve-lexer.js';
import { describeToken, isErrorToken } from './sieve-tokens.js';
import { LineIndex } from './sieve-positions.js';
import { decodeNumber, decodeQuoted, decodeMultiLine } from './sieve-literals.js';

export type Dialect = 'momentum' | 'rfc';

/** Parser limits. The defaults are Pigeonhole's (sieve-limits.h). */
export interface ParseLimits {
  /** Largest script accepted, in bytes. */
  maxScriptSize: number;
  maxIdentifierLength: number;
  maxArguments: number;
  maxBlockNesting: number;
  maxTestNesting: number;
  /** Largest string literal, in bytes. */
  maxStringLength: number;
}

export const defaultParseLimits: Readonly<ParseLimits> = Object.freeze({
  maxScriptSize: 1 << 20,
  maxIdentifierLength: 32,
  maxArguments: 32,
  maxBlockNesting: 32,
  maxTestNesting: 32,
  maxStringLength: 1 << 20,
});

/** What the parser is told about the current parse. */
export interface ParseSettings {
  dialect: Dialect;
  limits: ParseLimits;
}

/** One entry of the context stack: what is open, for messages and recovery. */
interface OpenContext {
  kind: 'command' | 'assignment' | 'test' | 'call' | 'block' | 'testlist';
  token: IToken;
  /** The rule-stack level that opened it: deeper entries are dropped when a rule unwinds. */
  level: number;
  depth: number;
}

/** Recovery priorities, from Pigeonhole's parser: a recovery never skips a token of higher priority. */
const enum Priority {
  Other = -1,
  StringList = 0,
  TestList = 1,
  Command = 2,
  Block = 3,
}

function priorityOf(type: TokenType): Priority {
  switch (type) {
    case LCurly:
    case RCurly:
      return Priority.Block;
    case Semicolon:
      return Priority.Command;
    case LParen:
    case RParen:
      return Priority.TestList;
    case LBracket:
    case RBracket:
      return Priority.StringList;
    default:
      return Priority.Other;
  }
}

/** The lines of the script being parsed (parseSieve sets it; a parse is synchronous). */
let lines = new LineIndex('');
const pos = (t: IToken): Position => lines.start(t);
const endOf = (t: IToken): Position => lines.end(t);

/** No test after the arguments (a shared marker, never handed out). */
const NO_TESTS: Test[] = [];

/** SUBRULE options by argument (a depth or a level), made once: no allocation per call. */
const subruleArgs: Array<{ ARGS: [number] }> = [];
const argsOf = (n: number): { ARGS: [number] } => (subruleArgs[n] ??= { ARGS: [n] });

/**
 * Names (commands, tags, variables) in lower case, one string per spelling:
 * a script repeats a few names thousands of times, and every copy would
 * outlive the parse in the AST.
 */
const lowerNames: Array<Map<string, string>> = [new Map(), new Map()];
function lowerName(image: string, skip: 0 | 1): string {
  const names = lowerNames[skip]!;
  let name = names.get(image);
  if (name === undefined) {
    if (names.size > 10_000) names.clear();
    name = image.slice(skip).toLowerCase();
    names.set(image, name);
  }
  return name;
}

/** The fields commands, tests and calls share: `identifier arguments [test / test-list]`. */
function invocation(id: IToken, tail: { args: Argument[]; tests: Test[]; testList: boolean }, end: Position) {
  return { name: lowerName(id.image, 0), raw: id.image, arguments: tail.args, tests: tail.tests, testList: tail.testList, pos: pos(id), end };
}

class SieveParser extends EmbeddedActionsParser {
  settings: ParseSettings = { dialect: 'momentum', limits: { ...defaultParseLimits } };
  /** Problems found by the actions (limits, dialect), beside Chevrotain's recognition errors. */
  diagnostics: Diagnostic[] = [];
  private open: OpenContext[] = [];

  constructor() {
    super(allTokens, {
      recoveryEnabled: false,
      maxLookahead: 2,
      errorMessageProvider: sieveMessages(() => parserRef.currentContext()),
    });
    this.performSelfAnalysis();
  }

  override reset(): void {
    super.reset();
    this.diagnostics = [];
    this.open = [];
  }

  // ---------------------------------------------------------------- rules

  script = this.RULE('script', (): Script => {
    const first = this.LA(1);
    const commands: Statement[] = [];
    this.MANY(() => {
      const statement = this.SUBRULE(this.statement, argsOf(0));
      if (statement) commands.push(statement);
    });
    // Tokens left over at the top level (a stray '}' or a lone string):
    // report, skip to the next thing that can start a command, go on.
    this.ACTION(() => this.parseAfterStrayTokens(commands));
    return this.ACTION(() => ({
      kind: 'script',
      commands,
      pos: first.tokenType === EOF ? { line: 1, column: 1, offset: 0 } : pos(first),
      end: this.endOfInput(),
    }));
  });

  // Chevrotain's performance guide: alternatives built once, not on every
  // call (they are closures). Those that depend on the depth, once per depth.
  private readonly statementAlts: Array<Array<{ ALT: () => Statement }>> = [];
  statement = this.RULE('statement', (depth: number): Statement =>
    this.OR(
      (this.statementAlts[depth] ??= [
        { ALT: () => this.SUBRULE(this.command, argsOf(depth)) },
        { ALT: () => this.SUBRULE(this.assignment, argsOf(depth)) },
      ]),
    ),
  );

  command = this.RULE(
    'command',
    (depth: number): Command => {
      const id = this.CONSUME(Identifier);
      this.ACTION(() => this.enter('command', id, depth));
      const tail = this.SUBRULE(this.arguments, argsOf(0));
      // The alternative taken leaves its result in endedBy/endedBlock, read at once.
      this.OR2(
        (this.commandEndAlts[depth] ??= [
          { ALT: () => { this.endedBy = this.CONSUME(Semicolon); this.endedBlock = null; } },
          { ALT: () => { this.endedBlock = this.SUBRULE(this.block, argsOf(depth + 1)); this.endedBy = undefined; } },
        ]),
      );
      const last = this.endedBy;
      const block = this.endedBlock;
      return this.ACTION(() => {
        this.leave();
        return { kind: 'command', ...invocation(id, tail, last ? endOf(last) : endOf(this.LA(0))), block } satisfies Command;
      });
    },
  );

  private readonly commandEndAlts: Array<Array<{ ALT: () => void }>> = [];
  private endedBy: IToken | undefined;
  private endedBlock: Statement[] | null = null;

  block = this.RULE('block', (depth: number): Statement[] => {
    const open = this.CONSUME(LCurly);
    const statements: Statement[] = [];
    let tooDeep = false;
    this.ACTION(() => {
      this.enter('block', open, depth);
      if (depth > this.settings.limits.maxBlockNesting) {
        tooDeep = true;
        this.report(open, `cannot nest command blocks deeper than ${this.settings.limits.maxBlockNesting} levels`);
        this.skipBalanced(RCurly, LCurly, Priority.Block);
      }
    });
    this.MANY({
      GATE: () => !tooDeep,
      DEF: () => {
        const statement = this.SUBRULE(this.statement, argsOf(depth));
        if (statement) statements.push(statement);
      },
    });
    this.CONSUME(RCurly);
    this.ACTION(() => this.leave());
    return statements;
  });

  /** `*argument [ test / test-list ]`; `level` is the test nesting level of the owner (0 for a command). */
  arguments = this.RULE('arguments', (level: number) => {
    const args: Argument[] = [];
    this.MANY(() => {
      const arg = this.SUBRULE(this.argument);
      this.ACTION(() => {
        if (!arg) return; // a string list that was recovered from
        args.push(arg);
        if (args.length === this.settings.limits.maxArguments + 1) {
          const owner = this.open.at(-1);
          this.reportAt(arg.pos, `too many arguments for ${owner ? `'${owner.token.image}'` : 'this command'} (at most ${this.settings.limits.maxArguments})`);
        }
      });
    });
    // The alternative taken leaves its result in foundTests/foundTestList, read at once.
    this.foundTests = NO_TESTS;
    this.foundTestList = false;
    this.OPTION((this.testOptions[level] ??= this.testOption(level)));
    const tests = this.foundTests === NO_TESTS ? [] : this.foundTests;
    return { args, tests, testList: this.foundTestList };
  });

  private readonly testOptions: Array<() => void> = [];
  private foundTests: Test[] = NO_TESTS;
  private foundTestList = false;
  /** `test / test-list` after the arguments at one nesting level, made once per level. */
  private testOption(level: number): () => void {
    const alts = [
      { ALT: () => { const t = this.SUBRULE(this.test, argsOf(level + 1)); this.foundTests = [t]; this.foundTestList = false; } },
      { ALT: () => { const l = this.SUBRULE(this.testList, argsOf(level + 1)); this.foundTests = l; this.foundTestList = true; } },
    ];
    return () => this.OR(alts);
  }

  test = this.RULE('test', (level: number): Test => {
    this.ACTION(() => this.checkTestNesting(level));
    const id = this.CONSUME(Identifier);
    this.ACTION(() => this.enter('test', id, level));
    const tail = this.SUBRULE(this.arguments, argsOf(level));
    return this.ACTION(() => {
      this.leave();
      return { kind: 'test', ...invocation(id, tail, endOf(this.LA(0))) } satisfies Test;
    });
  });

  testList = this.RULE('testList', (level: number): Test[] => {
    const open = this.CONSUME(LParen);
    this.ACTION(() => {
      this.enter('testlist', open, level);
      this.checkTestNesting(level);
    });
    const tests: Test[] = [];
    tests.push(this.SUBRULE(this.test, argsOf(level)));
    this.MANY(() => {
      this.CONSUME(Comma);
      tests.push(this.SUBRULE2(this.test, argsOf(level)));
    });
    this.CONSUME(RParen);
    this.ACTION(() => this.leave());
    return tests;
  });

  private argumentAlts?: Array<{ ALT: () => Argument }>;
  argument = this.RULE('argument', (): Argument =>
    this.OR(
      (this.argumentAlts ??= [
        { ALT: () => this.SUBRULE(this.stringList) },
        { ALT: () => this.SUBRULE(this.string) },
        { ALT: () => this.SUBRULE(this.number) },
        { ALT: () => this.SUBRULE(this.tag) },
        { ALT: () => this.SUBRULE(this.variable) },
      ]),
    ),
  );

  stringList = this.RULE('stringList', (): StringListArg => {
    const open = this.CONSUME(LBracket);
    const items: StringArg[] = [this.SUBRULE(this.listItem)];
    this.MANY(() => {
      this.CONSUME(Comma);
      items.push(this.SUBRULE2(this.listItem));
    });
    const close = this.CONSUME(RBracket);
    return this.ACTION(() => ({ kind: 'stringlist', items, pos: pos(open), end: endOf(close) }));
  });

  /**
   * A string list item: a string or, in Sieve++, a plain `$name`, which
   * stands for the string "${name}" (Momentum writes `[$address]` for a
   * query's parameters).
   */
  listItem = this.RULE('listItem', (): StringArg =>
    this.OR([
      { ALT: () => this.SUBRULE(this.string) },
      {
        ALT: () => {
          const v = this.SUBRULE(this.variable);
          return this.ACTION(() => {
            if (v.index.length) this.report(this.LA(0), `only a plain variable such as '$${v.name}' can stand in a string list`);
            return { kind: 'string' as const, value: `\${${v.name}}`, multiline: false, pos: v.pos, end: v.end };
          });
        },
      },
    ]),
  );

  private stringAlts?: Array<{ ALT: () => IToken }>;
  string = this.RULE('string', (): StringArg => {
    const tok = this.OR((this.stringAlts ??= [{ ALT: () => this.CONSUME(QuotedString) }, { ALT: () => this.CONSUME(MultiLine) }]));
    return this.ACTION(() => {
      const multiline = tok.tokenType === MultiLine;
      const value = multiline ? decodeMultiLine(tok.image) : decodeQuoted(tok.image);
      if (Buffer.byteLength(value) > this.settings.limits.maxStringLength) {
        this.report(tok, `string is too long (longer than ${this.settings.limits.maxStringLength} bytes)`);
      }
      return { kind: 'string', value, multiline, pos: pos(tok), end: endOf(tok) };
    });
  });

  number = this.RULE('number', (): NumberArg => {
    const tok = this.CONSUME(NumberLiteral);
    return this.ACTION(() => {
      // Sieve++ numbers may be negative or decimal (Momentum's ec_add, ec_ceil...); RFC 5228 2.4.1 numbers are not.
      const plain = /^[0-9]/.test(tok.image) && !tok.image.includes('.');
      if (!plain) this.checkDialect(tok, 'numbers like');
      const value = plain ? decodeNumber(tok.image).value : Number(tok.image);
      return { kind: 'number', value, raw: tok.image, pos: pos(tok), end: endOf(tok) };
    });
  });

  tag = this.RULE('tag', (): TagArg => {
    const tok = this.CONSUME(Tag);
    return this.ACTION(() => ({ kind: 'tag', name: lowerName(tok.image, 1), raw: tok.image, pos: pos(tok), end: endOf(tok) }));
  });

  /** Sieve++ `$name[index]...`; an index bracket must touch what precedes it, else it is a string list. */
  variable = this.RULE('variable', (): VariableArg => {
    const tok = this.CONSUME(Variable);
    this.ACTION(() => this.checkDialect(tok, 'variable references like'));
    const index: VariableArg['index'] = [];
    let last = tok;
    this.MANY({
      GATE: () => this.LA(1).startOffset === last.startOffset + last.image.length,
      DEF: () => {
        this.CONSUME(LBracket);
        const key = this.OR([
          { ALT: () => this.SUBRULE(this.string) },
          { ALT: () => this.SUBRULE(this.number) },
          { ALT: () => this.SUBRULE(this.variable) },
        ]);
        last = this.CONSUME(RBracket);
        this.ACTION(() => index.push(key));
      },
    });
    return this.ACTION(() => ({
      kind: 'variable',
      name: lowerName(tok.image, 1),
      raw: tok.image,
      index,
      pos: pos(tok),
      end: endOf(last),
    }));
  });

  /** Sieve++ assignment: `$x = value;`, `$x = cmd args;`, `($a, $b) = cmd args;`. */
  assignment = this.RULE('assignment', (depth: number): Assignment => {
    const first = this.LA(1);
    const targets: VariableArg[] = [];
    let unpack = false;
    this.ACTION(() => {
      this.enter('assignment', first, depth);
      this.checkDialect(first, 'assignments like');
    });
    this.OR([
      { ALT: () => { targets.push(this.SUBRULE(this.variable)); } },
      {
        ALT: () => {
          this.CONSUME(LParen);
          unpack = true;
          targets.push(this.SUBRULE2(this.variable));
          this.MANY(() => {
            this.CONSUME(Comma);
            targets.push(this.SUBRULE3(this.variable));
          });
          this.CONSUME(RParen);
        },
      },
    ]);
    this.CONSUME(Equals);
    const value = this.OR2([
      { ALT: () => this.SUBRULE(this.call) },
      { ALT: () => this.SUBRULE(this.argument) },
    ]);
    const last = this.CONSUME(Semicolon);
    return this.ACTION(() => {
      this.leave();
      return { kind: 'assignment', targets, unpack, value, pos: pos(first), end: endOf(last) } satisfies Assignment;
    });
  });

  call = this.RULE('call', (): Call => {
    const id = this.CONSUME(Identifier);
    this.ACTION(() => this.enter('call', id, 0));
    const tail = this.SUBRULE(this.arguments, argsOf(0));
    return this.ACTION(() => {
      this.leave();
      return { kind: 'call', ...invocation(id, tail, endOf(this.LA(0))) } satisfies Call;
    });
  });

  // ------------------------------------------------------------- helpers

  currentContext(): OpenContext | undefined {
    return this.open.at(-1);
  }

  private level(): number {
    return (this as unknown as { RULE_STACK_IDX: number }).RULE_STACK_IDX;
  }

  private enter(kind: OpenContext['kind'], token: IToken, depth: number): void {
    this.open.push({ kind, token, level: this.level(), depth });
  }

  private leave(): void {
    this.open.pop();
  }

  /** Drops what the rule being unwound (and any deeper one) had opened. */
  private unwindTo(level: number): OpenContext | undefined {
    let dropped: OpenContext | undefined;
    while (this.open.length && this.open[this.open.length - 1]!.level >= level) dropped = this.open.pop();
    return dropped;
  }

  report(token: IToken, message: string): void {
    this.reportAt(pos(token), message);
  }

  private reportAt(p: Position, message: string): void {
    this.diagnostics.push({ severity: 'error', message, ...p });
  }

  private checkDialect(token: IToken, what: string): void {
    if (this.settings.dialect === 'rfc') {
      this.report(token, `${what} '${token.image}' are Sieve++ syntax, which the 'rfc' dialect does not allow`);
    }
  }

  private checkTestNesting(level: number): void {
    if (level > this.settings.limits.maxTestNesting) {
      const message = `cannot nest tests deeper than ${this.settings.limits.maxTestNesting} levels`;
      this.report(this.LA(1), message);
      // Unwind like a syntax error, so recovery skips the over-deep part; the
      // message is already reported above.
      throw new MismatchedTokenException(message, this.LA(1), this.LA(0));
    }
  }

  private endOfInput(): Position {
    const last = this.LA(0);
    return last.tokenType === EOF || last.startOffset < 0 ? { line: 1, column: 1, offset: 0 } : endOf(last);
  }

  /** Skips tokens until the closer that balances an already consumed opener, leaving the closer next. */
  private skipBalanced(closer: TokenType, opener: TokenType, max: Priority): boolean {
    let nesting = 1;
    for (;;) {
      const t = this.LA(1).tokenType;
      if (t === EOF || priorityOf(t) > max) return false;
      if (t === opener) nesting++;
      else if (t === closer && --nesting === 0) return true;
      this.SKIP_TOKEN();
    }
  }

  private parseAfterStrayTokens(commands: Statement[]): void {
    while (this.LA(1).tokenType !== EOF) {
      const stray = this.LA(1);
      // A command that ran into this token has reported it already.
      const reported = this.errors.at(-1)?.token === stray;
      if (!isErrorToken(stray) && !reported) {
        this.report(
          stray,
          stray.tokenType === RCurly
            ? `unexpected '}': no block is open here`
            : `expected a command, found ${describeToken(stray)}`,
        );
      }
      this.SKIP_TOKEN();
      while (![EOF, Identifier, Variable, LParen].includes(this.LA(1).tokenType)) this.SKIP_TOKEN();
      while ([Identifier, Variable, LParen].includes(this.LA(1).tokenType)) {
        const statement = this.invokeRule(this.statement, 0);
        if (statement) commands.push(statement);
      }
    }
  }

  /** Calls a rule from recovery code, bypassing the root-level hooks. */
  private invokeRule<T>(rule: (...args: never[]) => T, ...args: unknown[]): T {
    return (rule as unknown as { coreRule: (...a: unknown[]) => T }).coreRule.apply(this, args);
  }

  /**
   * Chevrotain calls this (an internal hook) when a recognition error unwinds
   * a rule. Here each rule applies Pigeonhole's recovery, or passes the error
   * to its caller.
   */
  invokeRuleCatch(e: unknown, _resync: boolean, recoveryValueFunc: (e: unknown) => unknown): unknown {
    if (!(e instanceof Error) || !isRecognitionException(e)) throw e;
    const rule = (this as unknown as { getCurrRuleFullName(): string }).getCurrRuleFullName();
    const closed = this.unwindTo(this.level());
    switch (rule) {
      case 'stringList':
        if (this.skipBalanced(RBracket, LBracket, Priority.StringList)) {
          this.SKIP_TOKEN();
          return undefined;
        }
        throw e;
      case 'testList':
        if (this.skipBalanced(RParen, LParen, Priority.TestList)) {
          this.SKIP_TOKEN();
          return [];
        }
        throw e;
      case 'block':
        if (this.skipBalanced(RCurly, LCurly, Priority.Block)) this.SKIP_TOKEN();
        return [];
      case 'command':
      case 'assignment': {
        // Skip to the end of the command: its ';', or its block, which is
        // then parsed so that errors inside it are found too.
        let block: Statement[] | null = null;
        for (;;) {
          const t = this.LA(1).tokenType;
          if (t === Semicolon) {
            this.SKIP_TOKEN();
            break;
          }
          if (t === LCurly) {
            block = this.invokeRule(this.block, (closed?.depth ?? 0) + 1);
            break;
          }
          if (t === EOF || priorityOf(t) > Priority.Command) break;
          this.SKIP_TOKEN();
        }
        // A command keeps its name, position and block in the (partial) AST;
        // its arguments are lost. A broken assignment leaves nothing.
        if (rule === 'command' && closed?.kind === 'command') {
          const command: Command = { kind: 'command', ...invocation(closed.token, { args: [], tests: [], testList: false }, endOf(this.LA(0))), block };
          return command;
        }
        return recoveryValueFunc(e);
      }
      default:
        throw e;
    }
  }
}

let parserRef: SieveParser;
/** One parser for every parse: Chevrotain's grammar analysis runs once, at load. */
const parser = (parserRef = new SieveParser());

/** `LINE:COLUMN` of a token, for messages. */
const at = (t: IToken): string => {
  const p = pos(t);
  return `${p.line}:${p.column}`;
};

function sieveMessages(current: () => OpenContext | undefined): IParserErrorMessageProvider {
  const where = (): string => {
    const ctx = current();
    if (!ctx) return '';
    switch (ctx.kind) {
      case 'command':
        return ` after command '${ctx.token.image}'`;
      case 'assignment':
        return ` in the assignment to '${ctx.token.image}'`;
      case 'test':
        return ` in test '${ctx.token.image}'`;
      case 'call':
        return ` in call of '${ctx.token.image}'`;
      case 'block':
        return ` opened at ${at(ctx.token)}`;
      case 'testlist':
        return ` in the test list opened at ${at(ctx.token)}`;
    }
  };
  return {
    buildMismatchTokenMessage({ expected, actual, ruleName }) {
      return `${expectation(expected, ruleName)}${where()}, found ${describeToken(actual)}`;
    },
    buildNotAllInputParsedMessage({ firstRedundant }) {
      return `expected a command, found ${describeToken(firstRedundant)}`;
    },
    buildNoViableAltMessage({ actual, ruleName }) {
      const found = actual[0] ? describeToken(actual[0]) : 'end of script';
      return `${alternatives(ruleName)}${where()}, found ${found}`;
    },
    buildEarlyExitMessage({ actual, ruleName }) {
      const found = actual[0] ? describeToken(actual[0]) : 'end of script';
      return `${alternatives(ruleName)}${where()}, found ${found}`;
    },
  };
}

function expectation(expected: TokenType, ruleName: string): string {
  switch (expected) {
    case Semicolon:
      return `expected ';'`;
    case RCurly:
      return `expected '}' to close the block`; // where() adds "opened at L:C"
    case RParen:
      return `expected ',' or ')'`;
    case RBracket:
      return ruleName === 'variable' ? `expected ']' to close the index` : `expected ',' or ']'`;
    case Identifier:
      return ruleName === 'test' || ruleName === 'testList' ? 'expected a test' : 'expected an identifier';
    case Equals:
      return `expected '='`;
    case Comma:
      return `expected ','`;
    default:
      return `expected ${describeToken({ tokenType: expected, image: '' } as IToken)}`;
  }
}

function alternatives(ruleName: string): string {
  switch (ruleName) {
    case 'command':
      return `expected ';' or '{'`;
    case 'argument':
      return 'expected an argument (string, string list, number or tag)';
    case 'string':
    case 'stringList':
    case 'listItem':
      return 'expected a string';
    case 'variable':
      return 'expected a string, number or variable as index';
    case 'assignment':
      return `expected a value or a command after '='`;
    default:
      return `unexpected token in ${ruleName}`;
  }
}

/** The longest identifier the momentum dialect accepts. */
export const MOMENTUM_MAX_IDENTIFIER = 128;

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

export { lexSieve } from './sieve-tokens.js';
import { lexSieve } from './sieve-tokens.js';

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
  lines = lexed.lines;
  parser.settings = { dialect: options.dialect ?? 'momentum', limits };
  parser.input = lexed.tokens;
  let script: Script;
  try {
    script = parser.script() ?? empty;
  } catch (e) {
    // Recovery handles every recognition error; anything else is a bug, but
    // it must still come back as a diagnostic, not crash the caller.
    parser.diagnostics.push({ severity: 'error', message: `internal parser error: ${(e as Error).message}`, line: 1, column: 1, offset: 0 });
    script = empty;
  }
  const recognition = parser.errors
    .filter((err: IRecognitionException) => !isErrorToken(err.token))
    .map((err): Diagnostic => ({ severity: 'error', message: err.message, ...tokenPosition(err.token, text) }));
  const diagnostics = [...lexed.diagnostics, ...parser.diagnostics, ...recognition].sort((a, b) => a.offset - b.offset);
  return { script, diagnostics: withFile(diagnostics, options.file) };
}

function tokenPosition(token: IToken, text: string): Position {
  if (token.tokenType === EOF || Number.isNaN(token.startOffset) || token.startOffset < 0) {
    return positionAt(text, text.length);
  }
  return pos(token);
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
