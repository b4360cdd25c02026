/**
 * RFC 5232: imap4flags. setflag/addflag/removeflag change the internal
 * flags variable (or a named variable, section 3), hasflag tests it
 * (section 4), and :flags on keep/fileinto stores with given flags
 * (section 5); without :flags, keep and fileinto use the internal
 * variable (read by flagsFor in core-actions.ts from rt.state "imap4flags").
 *
 * Flag lists are space-separated, case-insensitive and without duplicates.
 */
import { matchTest } from '../interpreter.js';
import type { Bound, CommandDef, Extension } from '../registry.js';
import type { Runtime } from '../runtime/runtime.js';
import { constantString, type Validator } from '../validate.js';
import { splitFlags } from './core-actions.js';

const STATE = 'imap4flags';

function internal(rt: Runtime): string[] {
  return (rt.state.get(STATE) as string[] | undefined) ?? [];
}

/** Reads the flags of the named variable, or of the internal variable. */
function readFlags(rt: Runtime, variable: string | undefined): string[] {
  return variable === undefined ? internal(rt) : splitFlags([rt.variable(variable.toLowerCase(), undefined)]);
}

function writeFlags(rt: Runtime, variable: string | undefined, flags: string[]): void {
  if (variable === undefined) rt.state.set(STATE, flags);
  else rt.setVariable(variable.toLowerCase(), flags.join(' '));
}

/** The variable name argument needs "variables" (RFC 5232 3). */
function checkVariableArg(b: Bound, v: Validator): void {
  if (b.args.length < 2) return;
  if (!v.variables) {
    v.error(b.node.pos, `the ${b.node.raw} command takes a variable name only when "variables" is required`);
    return;
  }
  const name = constantString(b.args[0]);
  if (name !== null && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) v.error(b.args[0]!.node.pos, `invalid variable name '${name}'`);
}

const flagCommand = (name: string, op: (have: string[], given: string[]) => string[]): CommandDef => ({
  name,
  kind: 'command',
  positional: [
    { name: 'variable name', type: 'string', optional: true },
    { name: 'list of flags', type: 'stringlist' },
  ],
  validate: checkVariableArg,
  execute(b, rt) {
    const variable = b.args.length === 2 ? rt.string(b.args[0]!) : undefined;
    const given = splitFlags(rt.list(b.args[b.args.length - 1]!));
    writeFlags(rt, variable, op(readFlags(rt, variable), given));
  },
});

const lower = (s: string) => s.toLowerCase();

export const imap4flags: Extension = {
  capability: 'imap4flags',
  attachTags: [{ commands: ['keep', 'fileinto'], tag: { name: 'flags', args: [{ name: 'list of flags', type: 'stringlist' }] } }],
  commands: [
    flagCommand('setflag', (_have, given) => given),
    flagCommand('addflag', (have, given) => splitFlags([...have, ...given])),
    flagCommand('removeflag', (have, given) => have.filter((f) => !given.map(lower).includes(lower(f)))),
    {
      name: 'hasflag',
      kind: 'test',
      families: ['comparator', 'match-type'],
      positional: [
        { name: 'variable list', type: 'stringlist', optional: true },
        { name: 'list of flags', type: 'stringlist' },
      ],
      validate(b, v) {
        if (b.args.length === 2 && !v.variables) v.error(b.node.pos, 'the hasflag test takes a variable list only when "variables" is required');
      },
      evaluate(b, rt) {
        const flags =
          b.args.length === 2
            ? splitFlags(rt.list(b.args[0]!).flatMap((name) => readFlags(rt, name)))
            : internal(rt);
        // RFC 5232 4: each key string is a flag list too, except under :count/:value.
        const keys = rt.list(b.args[b.args.length - 1]!);
        const relational = b.matchType?.def.relational === true;
        return matchTest(b, rt, flags, relational ? keys : splitFlags(keys));
      },
    },
  ],
};

export { STATE as IMAP4FLAGS_STATE };
