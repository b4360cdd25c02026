/**
 * Syntax error messages in Sieve's words: what was expected, where (the
 * command, test or bracket that is open), and what was found. Chevrotain
 * asks this provider for every recognition error; token-type and rule names
 * never reach the user.
 */
import type { IParserErrorMessageProvider, IToken, TokenType } from './chevrotain.js';
import { Comma, Equals, Identifier, RBracket, RCurly, RParen, Semicolon } from './sieve-lexer.js';
import { describeToken } from './sieve-tokens.js';

/** What is open where an error happens: the innermost command, test, call, block or test list. */
export interface OpenContext {
  kind: 'command' | 'assignment' | 'test' | 'call' | 'block' | 'testlist';
  token: IToken;
}

export function sieveMessages(current: () => OpenContext | undefined, at: (t: IToken) => string): IParserErrorMessageProvider {
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

/** When no alternative fits: what the rule could have started with. */
function alternatives(ruleName: string): string {
  switch (ruleName) {
    case 'command':
      return `expected ';' or '{'`;
    case 'stringList':
      return 'expected a string';
    case 'variable':
      return 'expected a string, number or variable as index';
    case 'assignment':
      return `expected a value or a command after '='`;
    default:
      return `unexpected token in ${ruleName}`;
  }
}
