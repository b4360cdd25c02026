/**
 * RFC 5228 section 3: control commands (require, if/elsif/else, stop) and
 * the logical tests of section 5 (allof, anyof, not, true, false).
 */
import { evalAll, evalTest, runIf, andThen } from '../interpreter.js';
import type { CommandDef } from '../registry.js';
import { StopSignal } from '../runtime/signals.js';

export const requireCommand: CommandDef = {
  name: 'require',
  kind: 'command',
  positional: [{ name: 'capabilities', type: 'stringlist' }],
  validate(b, v) {
    // RFC 5228 3.2: require only at the top, before any other command.
    if (!v.requireAllowed) {
      v.error(b.node.pos, 'require command can only be placed at top level at the beginning of the file');
      return;
    }
    const arg = b.node.arguments[0]!;
    const items = arg.kind === 'stringlist' ? arg.items : arg.kind === 'string' ? [arg] : [];
    for (const s of items) {
      if (!v.require(s.value, b.node)) v.error(s.pos, `require command: unknown Sieve capability '${s.value}'`);
    }
  },
  execute: () => undefined,
};

const ifLike = (name: string): CommandDef => ({
  name,
  kind: 'command',
  tests: 'one',
  block: 'required',
  execute: name === 'if' ? runIf : () => undefined,
});

export const ifCommand = ifLike('if');
export const elsifCommand = ifLike('elsif');
export const elseCommand: CommandDef = { name: 'else', kind: 'command', block: 'required', execute: () => undefined };

export const stopCommand: CommandDef = {
  name: 'stop',
  kind: 'command',
  execute: () => {
    throw StopSignal.instance;
  },
};

export const allofTest: CommandDef = { name: 'allof', kind: 'test', tests: 'list', evaluate: (b, rt) => evalAll(b.tests, rt, true) };
export const anyofTest: CommandDef = { name: 'anyof', kind: 'test', tests: 'list', evaluate: (b, rt) => evalAll(b.tests, rt, false) };
export const notTest: CommandDef = { name: 'not', kind: 'test', tests: 'one', evaluate: (b, rt) => andThen(evalTest(b.tests[0]!, rt), (v) => !v) };
export const trueTest: CommandDef = { name: 'true', kind: 'test', evaluate: () => true };
export const falseTest: CommandDef = { name: 'false', kind: 'test', evaluate: () => false };
