/**
 * The actions of the Sieve grammar's smallest pieces (sieve-parser.ts): a
 * string, a number or a tag just consumed becomes its AST node, checked
 * against the parse limits and the dialect; and the test nesting limit. A
 * layer of its own between the recovery (sieve-recovery.ts) and the rules,
 * which call these from every alternative that takes a literal.
 */
import { type IToken, MismatchedTokenException } from './chevrotain.js';
import type { StringArg } from '../src/sieve/ast.js';
import { numberNode, plainNumber, stringNode, stringTooLong, tagNode } from './sieve-nodes.js';
import { SieveParserBase } from './sieve-recovery.js';

export abstract class SieveParserPieces extends SieveParserBase {
  /** The string `tok`, just consumed: its offsets and image are read from the Scan. */
  protected string(tok: IToken, multiline: boolean): StringArg {
    if (this.recording) return undefined as never;
    const at = this.consumed();
    const node = stringNode(this.lines, this.startAt(at), this.stopAt(at), this.scan.text, multiline);
    const max = this.settings.limits.maxStringLength;
    if (stringTooLong(node.value, max)) this.report(tok, `string is too long (longer than ${max} bytes)`);
    return node;
  }

  protected number(tok: IToken) {
    if (this.recording) return undefined as never;
    // Sieve++ numbers may be negative or decimal (Momentum's ec_add, ec_ceil...); RFC 5228 2.4.1 numbers are not.
    const at = this.consumed();
    const image = this.imageAt(at);
    if (!plainNumber(image)) this.checkDialect(tok, 'numbers like');
    return numberNode(this.lines, this.startAt(at), this.stopAt(at), image);
  }

  protected tag() {
    if (this.recording) return undefined as never;
    const at = this.consumed();
    return tagNode(this.lines, this.startAt(at), this.stopAt(at), this.nameAt(at, 1));
  }

  protected checkTestNesting(level: number): void {
    if (level > this.settings.limits.maxTestNesting) {
      const message = `cannot nest tests deeper than ${this.settings.limits.maxTestNesting} levels`;
      this.report(this.LA(1), message);
      // Unwind like a syntax error, so recovery skips the over-deep part; the
      // message is already reported above.
      throw new MismatchedTokenException(message, this.LA(1), this.LA(0));
    }
  }
}
