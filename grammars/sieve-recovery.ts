/**
 * What the Sieve parser keeps beside Chevrotain's state: the stack of open
 * commands, tests and brackets (for messages and recovery), the problems
 * the actions find, and Pigeonhole's error recovery, so that one run reports
 * every independent mistake and no mistake twice: an error inside a command
 * skips to the next ';' (or parses the '{' block that follows), an error in
 * a test list or string list skips to its closing bracket, an error in a
 * block skips to its '}'. Chevrotain's own heuristics (token insertion and
 * deletion, follow-set resynchronisation) are off because they report one
 * mistake several times.
 */
import { EmbeddedActionsParser, EOF, type GrammarOptions, type IToken, type TokenType, isRecognitionException } from './chevrotain.js';
import type { Diagnostic, Position } from '../src/diagnostics.js';
import type { Command, Statement } from '../src/sieve/ast.js';
import { allTokens, Identifier, LBracket, LCurly, LParen, RBracket, RCurly, RParen, Semicolon, Variable } from './sieve-lexer.js';
import { defaultParseLimits, type ParseSettings } from './sieve-limits.js';
import { type OpenContext, sieveMessages } from './sieve-messages.js';
import { append, commandNode, type Name, nameAt, nameOf } from './sieve-nodes.js';
import { LineIndex } from './sieve-positions.js';
import { scanSieve } from './sieve-scanner.js';
import { describeToken, isErrorToken } from './sieve-tokens.js';

/** Recovery priorities, from Pigeonhole's parser: a recovery never skips a token of higher priority. */
export const enum Priority {
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

/** Chevrotain internals the recovery reads (all present in the pinned release). */
interface ParserInternals {
  /** The index of the last token consumed (-1 before the first). */
  currIdx: number;
  RULE_STACK_IDX: number;
  RECORDING_PHASE: boolean;
  getCurrRuleFullName(): string;
  getLaFuncFromCache(key: number): (this: unknown) => boolean;
  doSingleRepetition(action: () => void): boolean;
  manyInternalLogic?: (occurrence: number, def: unknown, key: number) => void;
}

type ManyDef = (() => void) | { GATE?: () => boolean; DEF: () => void };

// The repetition loop replaced below must still be Chevrotain's, with the
// arguments it is given here: a release that changes it fails at load.
if ((EmbeddedActionsParser.prototype as unknown as ParserInternals).manyInternalLogic?.length !== 3) {
  throw new Error('chevrotain: manyInternalLogic(occurrence, def, key) not found; grammars/sieve-recovery.ts needs updating');
}

export abstract class SieveParserBase extends EmbeddedActionsParser {
  settings: ParseSettings = { dialect: 'momentum', limits: { ...defaultParseLimits } };
  /** Lines of the text being parsed: positions come from token offsets. */
  lines = new LineIndex('');
  /**
   * The tokens' offsets and images, by index: the actions read them here,
   * not from the token objects, which may be shared ones without offsets
   * of their own (sieve-tokens.ts, sharedTokens). Recovery is Chevrotain's
   * own only in skipping tokens, never inserting one, so the token just
   * consumed is always the one at `consumed()`.
   */
  scan = scanSieve('');
  /**
   * The Scan index of the input's first token: 0, or where the run of
   * top-level statements being parsed starts when a script is parsed in
   * pieces (sieve-pieces.ts). Chevrotain counts from its input's start.
   */
  base = 0;
  /**
   * The block depth of the statements being parsed: 0 for a script, and
   * for a piece the depth of the block its statements stand in (a large
   * block is parsed in pieces too: sieve-pieces.ts), so that the nesting
   * limit counts as in a parse of the whole script.
   */
  depth = 0;
  /**
   * Where the input skips tokens of the Scan: from input index `gapAt` on,
   * `gapLength` more (a piece whose head is parsed without the middle of
   * a large block or test list: sieve-pieces.ts). None by default.
   */
  gapAt = Number.POSITIVE_INFINITY;
  gapLength = 0;
  /** Problems found by the actions (limits, dialect), beside Chevrotain's recognition errors. */
  diagnostics: Diagnostic[] = [];

  // The open contexts, one array per field: entering and leaving a command allocates nothing.
  private openKind: Array<OpenContext['kind']> = [];
  private openToken: IToken[] = [];
  /** The rule-stack level that opened it: deeper entries are dropped when a rule unwinds. */
  private openLevel: number[] = [];
  private openDepth: number[] = [];
  private openCount = 0;

  abstract block: (depth: number) => Statement[];
  abstract command: (depth: number) => Command;
  abstract assignment: (depth: number) => Statement;

  constructor(options: GrammarOptions) {
    super(allTokens, {
      skipValidations: !options.validate,
      recoveryEnabled: false,
      maxLookahead: 2,
      errorMessageProvider: sieveMessages(
        () => currentParser?.currentContext(),
        (t) => {
          const p = currentParser!.pos(t);
          return `${p.line}:${p.column}`;
        },
      ),
    });
    // The message provider is handed over before `this` exists: it finds the parser here.
    currentParser = this;
    // The actions read the index of the token just consumed: a release that moves it fails at load.
    if ((this as unknown as ParserInternals).currIdx !== -1) throw new Error('chevrotain: the parser has no currIdx; grammars/sieve-recovery.ts needs updating');
  }

  override reset(): void {
    super.reset();
    this.diagnostics = [];
    this.openCount = 0;
  }

  /**
   * Chevrotain's MANY loop (an internal), without its call to in-repetition
   * recovery: that call builds an array of its arguments at every MANY, and
   * with recovery off (it is, above) it does nothing else. It was the
   * largest allocation of a parse after the tokens and the nodes.
   */
  manyInternalLogic(_occurrence: number, def: ManyDef, key: number): void {
    const internals = this as unknown as ParserInternals;
    const lookahead = internals.getLaFuncFromCache(key);
    if (typeof def === 'function') {
      while (lookahead.call(this) === true) if (!internals.doSingleRepetition.call(this, def)) break;
      return;
    }
    const gate = def.GATE;
    while ((gate === undefined || gate.call(this)) && lookahead.call(this) === true) {
      if (!internals.doSingleRepetition.call(this, def.DEF)) break;
    }
  }

  /** The index of the token last consumed: read right after a CONSUME, it is that token's. */
  protected consumed(): number {
    const i = (this as unknown as ParserInternals).currIdx;
    return i + this.base + (i >= this.gapAt ? this.gapLength : 0);
  }

  /** Token i's start offset (NaN past either end: before the first token, at the end of the script). */
  protected startAt(i: number): number {
    return i >= 0 && i < this.scan.count ? this.scan.starts[i]! : Number.NaN;
  }

  /** The offset just past token i. */
  protected stopAt(i: number): number {
    return i >= 0 && i < this.scan.count ? this.scan.stops[i]! : Number.NaN;
  }

  /** Token i's name (an identifier, or after its `:` or `$` when `skip` is 1). */
  protected nameAt(i: number, skip: 0 | 1): Name {
    return i >= 0 && i < this.scan.count ? nameAt(this.scan.text, this.scan.starts[i]!, this.scan.stops[i]!, skip) : nameOf('', skip);
  }

  protected imageAt(i: number): string {
    return i >= 0 && i < this.scan.count ? this.scan.image(i) : '';
  }

  /** True while Chevrotain records the grammar (at construction): actions must not run then. */
  protected get recording(): boolean {
    return (this as unknown as ParserInternals).RECORDING_PHASE;
  }

  pos(t: IToken): Position {
    return this.lines.start(t);
  }

  endOf(t: IToken): Position {
    return this.lines.end(t);
  }

  currentContext(): OpenContext | undefined {
    const i = this.openCount - 1;
    return i < 0 ? undefined : { kind: this.openKind[i]!, token: this.openToken[i]! };
  }

  /** The innermost open command, test or call, for messages about its arguments. */
  protected owner(): IToken | undefined {
    return this.openCount ? this.openToken[this.openCount - 1] : undefined;
  }

  private level(): number {
    return (this as unknown as ParserInternals).RULE_STACK_IDX;
  }

  protected enter(kind: OpenContext['kind'], token: IToken, depth: number): void {
    const i = this.openCount++;
    this.openKind[i] = kind;
    this.openToken[i] = token;
    this.openLevel[i] = this.level();
    this.openDepth[i] = depth;
  }

  protected leave(): void {
    this.openCount--;
  }

  /** Drops what the rule being unwound (and any deeper one) had opened; returns the outermost dropped. */
  private unwindTo(level: number): { kind: OpenContext['kind']; token: IToken; depth: number } | undefined {
    let dropped = -1;
    while (this.openCount && this.openLevel[this.openCount - 1]! >= level) dropped = --this.openCount;
    return dropped < 0 ? undefined : { kind: this.openKind[dropped]!, token: this.openToken[dropped]!, depth: this.openDepth[dropped]! };
  }

  report(token: IToken, message: string): void {
    this.reportAt(this.pos(token), message);
  }

  protected reportAt(p: Position, message: string): void {
    this.diagnostics.push({ severity: 'error', message, ...p });
  }

  protected checkDialect(token: IToken, what: string): void {
    if (this.settings.dialect === 'rfc') {
      this.report(token, `${what} '${token.image}' are Sieve++ syntax, which the 'rfc' dialect does not allow`);
    }
  }

  protected endOfInput(): Position {
    const last = this.consumed();
    if (last < 0) return { line: 1, column: 1, offset: 0 };
    const start = this.startAt(last);
    return this.lines.endOf(start, this.stopAt(last) - start);
  }

  /** Skips tokens until the closer that balances an already consumed opener, leaving the closer next. */
  protected skipBalanced(closer: TokenType, opener: TokenType, max: Priority): boolean {
    let nesting = 1;
    for (;;) {
      const t = this.LA(1).tokenType;
      if (t === EOF || priorityOf(t) > max) return false;
      if (t === opener) nesting++;
      else if (t === closer && --nesting === 0) return true;
      this.SKIP_TOKEN();
    }
  }

  /**
   * Tokens left over at the top level (a stray '}' or a lone string):
   * report, skip to the next thing that can start a command, go on.
   */
  protected parseAfterStrayTokens(commands: Statement[]): Statement[] {
    while (this.LA(1).tokenType !== EOF) {
      const stray = this.LA(1);
      // A command that ran into this token has reported it already.
      const reported = this.errors.at(-1)?.token === stray;
      if (!isErrorToken(stray) && !reported) {
        this.report(stray, stray.tokenType === RCurly ? `unexpected '}': no block is open here` : `expected a command, found ${describeToken(stray)}`);
      }
      this.SKIP_TOKEN();
      while (![EOF, Identifier, Variable, LParen].includes(this.LA(1).tokenType)) this.SKIP_TOKEN();
      for (;;) {
        const t = this.LA(1).tokenType;
        if (t !== Identifier && t !== Variable && t !== LParen) break;
        const statement = this.invokeRule(t === Identifier ? this.command : this.assignment, 0);
        if (statement) commands = append(commands, statement);
      }
    }
    return commands;
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
    const rule = (this as unknown as ParserInternals).getCurrRuleFullName();
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
          return commandNode(this.lines, closed.token.startOffset, this.stopAt(this.consumed()), nameOf(closed.token.image, 0), [], [], false, block);
        }
        return recoveryValueFunc(e);
      }
      default:
        throw e;
    }
  }
}

/** The parser whose error is being worded (one parse at a time: parsing is synchronous). */
let currentParser: SieveParserBase | undefined;
