/**
 * The statements of a block as the validator (validate.ts) reads them, in
 * order: each is validated and bound, and an elsif or else is chained to
 * the if before it.
 */
import type { Statement } from './ast.js';
import type { Bound } from './registry.js';
import type { Validator } from './validate.js';

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
    const { v, depth } = this;
    if (s.kind === 'assignment') {
      v.closeRequire();
      const assign = v.options.language?.assignment;
      const b = assign ? assign(v, s, depth) : (v.error(s.pos, 'assignments are not part of standard Sieve'), null);
      if (b) this.out.push(b);
      this.prevName = '';
      return;
    }
    if (depth > 0 || s.name !== 'require') v.closeRequire();
    const prevName = this.prevName;
    const continues = s.name === 'elsif' || s.name === 'else';
    // RFC 5228 3.1: elsif and else only follow if or elsif.
    if (continues && prevName !== 'if' && prevName !== 'elsif') {
      v.error(s.pos, `the ${s.name} command must follow an if or elseif command`);
    }
    const b = v.invocation(s, 'command', depth);
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
}
