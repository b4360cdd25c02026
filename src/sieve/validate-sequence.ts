/**
 * The statements of a block as the validator (validate.ts) reads them, in
 * order: each is validated and bound, and an elsif or else is chained to
 * the if before it.
 */
import type { Command, Statement } from './ast.js';
import type { Bound } from './registry.js';
import type { Validator } from './validate.js';
import { NO_BOUNDS } from './bound.js';

/**
 * The statements of one block, validated one after the other: an elsif or
 * else continues the if (or elsif) before it (RFC 5228 3.1).
 */
export class Sequence {
  readonly out: Bound[] = [];
  /** The name of the statement before; '' after an assignment. */
  private prevName = '';
  /** The if the next elsif/else continues; null after anything else. */
  private head: Bound | null = null;

  constructor(
    private readonly v: Validator,
    private readonly depth: number,
  ) {}

  add(s: Statement): void {
    if (this.before(s)) this.after(s, this.v.invocation(s, 'command', this.depth));
  }

  /**
   * The statement up to its validation as a command: an assignment is
   * validated whole (false); a command is checked for its place (true),
   * and `after` takes it on once it is validated, at once or in turns
   * (validate-in-slices.ts).
   */
  before(s: Statement): s is Command {
    const { v, depth } = this;
    if (s.kind === 'assignment') {
      v.closeRequire();
      const assign = v.options.language?.assignment;
      const b = assign ? assign(v, s, depth) : (v.error(s.pos, 'assignments are not part of standard Sieve'), null);
      if (b) this.out.push(b);
      this.prevName = '';
      return false;
    }
    if (depth > 0 || s.name !== 'require') v.closeRequire();
    const continues = s.name === 'elsif' || s.name === 'else';
    // RFC 5228 3.1: elsif and else only follow if or elsif.
    if (continues && this.prevName !== 'if' && this.prevName !== 'elsif') {
      v.error(s.pos, `the ${s.name} command must follow an if or elseif command`);
    }
    return true;
  }

  /** A command `before` let through, validated: `b`, or null when it has errors. */
  after(s: Command, b: Bound | null): void {
    const prevName = this.prevName;
    const continues = s.name === 'elsif' || s.name === 'else';
    const follows = continues && (prevName === 'if' || prevName === 'elsif');
    this.prevName = s.name;
    if (!b) {
      if (!continues) this.head = null;
      return;
    }
    if (b.def.name === 'if') this.head = b;
    else if (continues) {
      if (!follows || !this.head) return;
      (this.head.chain ??= []).push(b);
      b.chained = true;
    }
    this.out.push(b);
  }

  /** The block's bound statements, at their exact size: a compiled script keeps every block's list (one grown by push keeps room for 17). */
  bound(): Bound[] {
    return this.out.length === 0 ? NO_BOUNDS : this.out.slice();
  }
}
