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
 * Speed follows Chevrotain's performance guide: one parser for every parse;
 * alternatives built once, never per call; no rule that only consumes one
 * terminal (a rule call costs far more than a CONSUME): `commands`,
 * `arguments`, `argument` and `string` are written into the rules that use
 * them. Actions run as plain code guarded by the recording flag instead of
 * ACTION closures. Recovery and messages live in sieve-recovery.ts; the
 * literals' and the nesting limit's actions in sieve-parser-pieces.ts.
 */
import { EOF, type GrammarOptions, type IToken } from './chevrotain.js';
import type { Argument, Assignment, Call, Command, Script, Statement, StringArg, StringListArg, Test, VariableArg } from '../src/sieve/ast.js';
import { Comma, Equals, Identifier, LBracket, LCurly, LParen, MultiLine, NumberLiteral, QuotedString, RBracket, RCurly, RParen, Semicolon, Tag, Variable } from './sieve-lexer.js';
import { append, assignmentNode, callNode, commandNode, exact, NONE, stringAt, stringListNode, testNode, variableNode } from './sieve-nodes.js';
import { SieveParserPieces } from './sieve-parser-pieces.js';
import { Priority } from './sieve-recovery.js';

/** SUBRULE options by argument (a depth or a level), made once: no allocation per call. */
const subruleArgs: Array<{ ARGS: [number] }> = [];
const argsOf = (n: number): { ARGS: [number] } => (subruleArgs[n] ??= { ARGS: [n] });

type Alts<T> = Array<{ ALT: () => T }>;

export class SieveParser extends SieveParserPieces {
  /** `command / assignment` at each block depth. */
  private readonly statementAlts: Array<Alts<Statement>> = [];
  /** `";" / block` after a command at each depth: the ';' token or the block's statements. */
  private readonly commandEndAlts: Array<Alts<IToken | Statement[]>> = [];
  /** `[ test / test-list ]` after the arguments at each test nesting level. */
  private readonly testOptions: Array<() => Test[]> = [];
  /** Set by the test-list alternative of testOptions, read as soon as the OPTION returns. */
  private foundTestList = false;
  private readonly argumentAlts: Alts<Argument | undefined>;
  /** String-list items, two copies: a rule may not use one CONSUME index twice. */
  private readonly listItemAlts: [Alts<StringArg>, Alts<StringArg>];
  private readonly indexAlts: Alts<VariableArg['index'][number]>;
  /*
   * The bodies of the MANY loops of testList and stringList, made once
   * instead of a closure per rule invocation, with the list each one fills.
   * Test lists nest one level at a time, so one list per level is enough;
   * string lists do not nest. (Arguments and statements are taken outside
   * Chevrotain's loops in a parse: see argumentList.)
   */
  private readonly testListSteps: Array<() => void> = [];
  private readonly testListTests: Test[][] = [];
  private listItems: StringArg[] = NONE;
  private readonly listItemStep: () => void;

  constructor(options: GrammarOptions = {}) {
    super(options);
    this.argumentAlts = [
      { ALT: () => this.SUBRULE(this.stringList) },
      { ALT: () => this.string(this.CONSUME(QuotedString), false) },
      { ALT: () => this.string(this.CONSUME(MultiLine), true) },
      { ALT: () => this.number(this.CONSUME(NumberLiteral)) },
      { ALT: () => (this.CONSUME(Tag), this.tag()) },
      // Index 4: assignment uses SUBRULE1-3 of `variable` for its targets.
      { ALT: () => this.SUBRULE4(this.variable) },
    ];
    this.listItemAlts = [this.listItemAltsAt(1), this.listItemAltsAt(2)];
    this.listItemStep = () => {
      this.CONSUME(Comma);
      const item = this.OR2(this.listItemAlts[1]);
      if (!this.recording) this.listItems = append(this.listItems, item);
    };
    this.indexAlts = [
      { ALT: () => this.string(this.CONSUME(QuotedString), false) },
      { ALT: () => this.string(this.CONSUME(MultiLine), true) },
      { ALT: () => this.number(this.CONSUME(NumberLiteral)) },
      { ALT: () => this.SUBRULE(this.variable) },
    ];
    this.performSelfAnalysis();
  }

  // ---------------------------------------------------------------- rules

  script = this.RULE('script', (): Script => {
    const first = this.LA(1);
    if (this.recording) {
      this.MANY(() => void this.OR(this.statementsAt(0)));
      return undefined as never;
    }
    const commands = this.parseAfterStrayTokens(this.statements(this.depth, NONE));
    return {
      kind: 'script',
      commands: exact(commands),
      pos: first.tokenType === EOF ? { line: 1, column: 1, offset: 0 } : this.lines.position(this.startAt(0)),
      end: this.endOfInput(),
    };
  });

  command = this.RULE('command', (depth: number): Command => {
    const id = this.CONSUME(Identifier);
    const at = this.consumed();
    if (!this.recording) this.enter('command', id, depth);
    const args = this.argumentList();
    const tests = this.testsAfter(0);
    const testList = tests !== undefined && this.foundTestList;
    const ending = this.OR2((this.commandEndAlts[depth] ??= [
      { ALT: () => this.CONSUME(Semicolon) },
      { ALT: () => this.SUBRULE(this.block, argsOf(depth + 1)) },
    ]));
    if (this.recording) return undefined as never;
    this.leave();
    const block = Array.isArray(ending) ? ending : null;
    return commandNode(this.lines, this.startAt(at), this.stopAt(this.consumed()), this.nameAt(at, 0), args, tests ?? NONE, testList, block);
  });

  block = this.RULE('block', (depth: number): Statement[] => {
    const open = this.CONSUME(LCurly);
    let statements: Statement[] = NONE;
    if (!this.recording) {
      this.enter('block', open, depth);
      if (depth > this.settings.limits.maxBlockNesting) {
        this.report(open, `cannot nest command blocks deeper than ${this.settings.limits.maxBlockNesting} levels`);
        // Leaves the '}' (or the end of the script) next, so no statement is parsed.
        this.skipBalanced(RCurly, LCurly, Priority.Block);
      }
    }
    if (this.recording) this.MANY(() => void this.OR(this.statementsAt(depth)));
    else statements = this.statements(depth, NONE);
    this.CONSUME(RCurly);
    if (!this.recording) this.leave();
    return exact(statements);
  });

  test = this.RULE('test', (level: number): Test => {
    if (!this.recording) this.checkTestNesting(level);
    const id = this.CONSUME(Identifier);
    const at = this.consumed();
    if (!this.recording) this.enter('test', id, level);
    const args = this.argumentList();
    const tests = this.testsAfter(level);
    const testList = tests !== undefined && this.foundTestList;
    if (this.recording) return undefined as never;
    this.leave();
    return testNode(this.lines, this.startAt(at), this.stopAt(this.consumed()), this.nameAt(at, 0), args, tests ?? NONE, testList);
  });

  testList = this.RULE('testList', (level: number): Test[] => {
    const open = this.CONSUME(LParen);
    if (!this.recording) {
      this.enter('testlist', open, level);
      this.checkTestNesting(level);
    }
    this.testListTests[level] = [this.SUBRULE(this.test, argsOf(level))];
    this.MANY(this.testListStepAt(level));
    const tests = this.testListTests[level]!;
    this.CONSUME(RParen);
    if (!this.recording) this.leave();
    return exact(tests);
  });

  /** `test *("," test)` at test nesting `level`: a run of the tests of a large test list, parsed apart (sieve-pieces.ts). */
  testRun = this.RULE('testRun', (level: number): Test[] => {
    let tests: Test[] = [this.SUBRULE(this.test, argsOf(level))];
    this.MANY(() => {
      this.CONSUME(Comma);
      const t = this.SUBRULE2(this.test, argsOf(level));
      if (!this.recording) tests = append(tests, t);
    });
    return exact(tests);
  });

  /** Whether the input has been read to its end (after testRun, which does not look for it). */
  atEnd(): boolean {
    return this.LA(1).tokenType === EOF;
  }

  stringList = this.RULE('stringList', (): StringListArg => {
    this.CONSUME(LBracket);
    const open = this.consumed();
    this.listItems = [this.OR(this.listItemAlts[0])];
    this.MANY(this.listItemStep);
    this.CONSUME(RBracket);
    if (this.recording) return undefined as never;
    return stringListNode(this.lines, this.startAt(open), this.stopAt(this.consumed()), exact(this.listItems));
  });

  /** Sieve++ `$name[index]...`; an index bracket must touch what precedes it, else it is a string list. */
  variable = this.RULE('variable', (): VariableArg => {
    const tok = this.CONSUME(Variable);
    const at = this.consumed();
    if (!this.recording) this.checkDialect(tok, 'variable references like');
    let index: VariableArg['index'] = NONE;
    let last = at;
    this.MANY({
      GATE: () => this.startAt(this.consumed() + 1) === this.stopAt(last),
      DEF: () => {
        this.CONSUME(LBracket);
        const key = this.OR(this.indexAlts);
        this.CONSUME(RBracket);
        last = this.consumed();
        index = append(index, key);
      },
    });
    if (this.recording) return undefined as never;
    return variableNode(this.lines, this.startAt(at), this.stopAt(last), this.nameAt(at, 1), exact(index));
  });

  /** Sieve++ assignment: `$x = value;`, `$x = cmd args;`, `($a, $b) = cmd args;`. */
  assignment = this.RULE('assignment', (depth: number): Assignment => {
    const first = this.LA(1);
    const at = this.consumed() + 1;
    let targets: VariableArg[] = NONE;
    let unpack = false;
    if (!this.recording) {
      this.enter('assignment', first, depth);
      this.checkDialect(first, 'assignments like');
    }
    this.OR([
      { ALT: () => { targets = append(targets, this.SUBRULE(this.variable)); } },
      {
        ALT: () => {
          this.CONSUME(LParen);
          unpack = true;
          targets = append(targets, this.SUBRULE2(this.variable));
          this.MANY(() => {
            this.CONSUME(Comma);
            targets = append(targets, this.SUBRULE3(this.variable));
          });
          this.CONSUME(RParen);
        },
      },
    ]);
    this.CONSUME(Equals);
    const value = this.OR2([
      { ALT: () => this.SUBRULE(this.call) },
      { ALT: () => this.OR3(this.argumentAlts) },
    ]);
    this.CONSUME(Semicolon);
    if (this.recording) return undefined as never;
    this.leave();
    return assignmentNode(this.lines, this.startAt(at), this.stopAt(this.consumed()), exact(targets), unpack, value!);
  });

  call = this.RULE('call', (): Call => {
    const id = this.CONSUME(Identifier);
    const at = this.consumed();
    if (!this.recording) this.enter('call', id, 0);
    const args = this.argumentList();
    const tests = this.testsAfter(0);
    const testList = tests !== undefined && this.foundTestList;
    if (this.recording) return undefined as never;
    this.leave();
    return callNode(this.lines, this.startAt(at), this.stopAt(this.consumed()), this.nameAt(at, 0), args, tests ?? NONE, testList);
  });

  // ------------------------------------------------------------- pieces

  private statementsAt(depth: number): Alts<Statement> {
    return (this.statementAlts[depth] ??= [
      { ALT: () => this.SUBRULE(this.command, argsOf(depth)) },
      { ALT: () => this.SUBRULE(this.assignment, argsOf(depth)) },
    ]);
  }

  /**
   * `*(command / assignment)` at block `depth`, added to `list`, in a parse
   * (not while Chevrotain records the grammar): the next token's type
   * decides, as in argumentList.
   */
  private statements(depth: number, list: Statement[]): Statement[] {
    for (;;) {
      const type = this.LA(1).tokenType;
      const at = this.consumed();
      let statement: Statement | undefined;
      if (type === Identifier) statement = this.SUBRULE(this.command, argsOf(depth));
      else if (type === Variable || type === LParen) statement = this.SUBRULE(this.assignment, argsOf(depth));
      else return list;
      if (statement) list = append(list, statement);
      else if (this.consumed() === at) return list;
    }
  }

  /**
   * `[ test / test-list ]` after the arguments of an owner at test nesting
   * `level` (0 for a command); undefined when there is neither. While
   * Chevrotain records the grammar, an OPTION over the two; in a parse the
   * next token's type decides, as in argumentList.
   */
  private testsAfter(level: number): Test[] | undefined {
    if (this.recording) return this.OPTION(this.testOptionAt(level));
    switch (this.LA(1).tokenType) {
      case Identifier: {
        const t = this.SUBRULE(this.test, argsOf(level + 1));
        this.foundTestList = false;
        return [t];
      }
      case LParen: {
        const l = this.SUBRULE(this.testList, argsOf(level + 1));
        this.foundTestList = true;
        return l;
      }
      default:
        return undefined;
    }
  }

  private testListStepAt(level: number): () => void {
    let step = this.testListSteps[level];
    if (!step) {
      step = this.testListSteps[level] = () => {
        this.CONSUME(Comma);
        const test = this.SUBRULE2(this.test, argsOf(level));
        if (!this.recording) this.testListTests[level] = append(this.testListTests[level]!, test);
      };
    }
    return step;
  }

  /**
   * `*argument`, inside the rule that owns them (command, test or call).
   * While Chevrotain records the grammar it is a MANY over the argument
   * alternatives; a parse then takes the next token's type straight to its
   * alternative, the decision the MANY and its OR would make from the same
   * one token of lookahead, without their two lookahead calls and the
   * repetition's bookkeeping for each argument.
   */
  private argumentList(): Argument[] {
    if (this.recording) {
      this.MANY(() => void this.OR(this.argumentAlts));
      return NONE;
    }
    let args: Argument[] = NONE;
    for (;;) {
      const at = this.consumed();
      let arg: Argument | undefined;
      switch (this.LA(1).tokenType) {
        case QuotedString:
          arg = this.string(this.CONSUME(QuotedString), false);
          break;
        case MultiLine:
          arg = this.string(this.CONSUME(MultiLine), true);
          break;
        case NumberLiteral:
          arg = this.number(this.CONSUME(NumberLiteral));
          break;
        case Tag:
          this.CONSUME(Tag);
          arg = this.tag();
          break;
        case LBracket:
          arg = this.SUBRULE(this.stringList);
          break;
        case Variable:
          arg = this.SUBRULE4(this.variable);
          break;
        default:
          return args;
      }
      // A string list that was recovered from: go on after what recovery skipped (never in place).
      if (arg === undefined) {
        if (this.consumed() === at) return args;
        continue;
      }
      args = append(args, arg);
      if (args.length === this.settings.limits.maxArguments + 1) {
        const owner = this.owner();
        this.reportAt(arg.pos, `too many arguments for ${owner ? `'${owner.image}'` : 'this command'} (at most ${this.settings.limits.maxArguments})`);
      }
    }
  }

  /** `test / test-list` after the arguments of an owner at test nesting `level` (0 for a command). */
  private testOptionAt(level: number): () => Test[] {
    let option = this.testOptions[level];
    if (!option) {
      const alts: Alts<Test[]> = [
        { ALT: () => { const t = this.SUBRULE(this.test, argsOf(level + 1)); this.foundTestList = false; return [t]; } },
        { ALT: () => { const l = this.SUBRULE(this.testList, argsOf(level + 1)); this.foundTestList = true; return l; } },
      ];
      // OR3: OR is the argument's, OR2 the command's ending.
      option = this.testOptions[level] = () => this.OR3(alts);
    }
    return option;
  }

  /**
   * A string list item: a string or, in Sieve++, a plain `$name`, which
   * stands for the string "${name}" (Momentum writes `[$address]` for a
   * query's parameters). `n` numbers the CONSUMEs, one set per use.
   */
  private listItemAltsAt(n: number): Alts<StringArg> {
    return [
      { ALT: () => this.string(this.consume(n, QuotedString), false) },
      { ALT: () => this.string(this.consume(n, MultiLine), true) },
      {
        ALT: () => {
          const first = this.consumed() + 1;
          const v = this.subrule(n, this.variable);
          if (this.recording) return undefined as never;
          if (v.index.length) this.report(this.LA(0), `only a plain variable such as '$${v.name}' can stand in a string list`);
          return stringAt(this.lines, this.startAt(first), this.stopAt(this.consumed()), `\${${v.name}}`);
        },
      },
    ];
  }
}
