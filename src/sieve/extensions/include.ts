/**
 * RFC 6609: include, return and global. Included scripts are loaded from
 * the host (SieveHost.loadScript), compiled once per run and run with the
 * same result but their own variables (3.4); `global` names are shared,
 * also as "${global.name}" (3.5). `:once` skips a script already included
 * (3.2); including a script that is running is an error, as is nesting
 * deeper than MAX_DEPTH.
 */
import type { Command } from '../ast.js';
import type { CompiledScript, CompileResult } from '../compile.js';
import { andThen, runBlock } from '../interpreter.js';
import type { Bound, Extension } from '../registry.js';
import type { Runtime } from '../runtime/runtime.js';
import { ReturnSignal, SieveRuntimeFailure } from '../runtime/signals.js';
import { constantString, type ValidateOptions, type Validator } from '../validate.js';

/** Pigeonhole's defaults: sieve_include_max_nesting_depth and sieve_include_max_includes. */
const MAX_DEPTH = 10;
const MAX_INCLUDES = 255;
const STATE = 'include';


interface IncludeState {
  compiled: Map<string, CompiledScript>;
  included: Set<string>;
  running: string[];
}

function state(rt: Runtime): IncludeState {
  let s = rt.state.get(STATE) as IncludeState | undefined;
  if (!s) rt.state.set(STATE, (s = { compiled: new Map(), included: new Set(), running: [] }));
  return s;
}

/** RFC 6609 3.1 / RFC 5804 1.6: a script name has no "/" and no control or separator characters. */
function nameProblem(name: string): string | null {
  if (name === '') return 'empty script name';
  if (name.includes('/')) return `script name '${name}' contains a '/'`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(name)) return `script name contains a control character`;
  return null;
}

function runIncluded(rt: Runtime, key: string, script: CompiledScript): void | Promise<void> {
  const s = state(rt);
  rt.installNamespaces(script.namespaces);
  const outer = rt.scope;
  rt.scope = { vars: new Map(), globalNames: new Set() };
  s.running.push(key);
  s.included.add(key);
  const restore = () => {
    rt.scope = outer;
    s.running.pop();
  };
  const caught = (e: unknown) => {
    restore();
    if (!(e instanceof ReturnSignal)) throw e;
  };
  try {
    const r = runBlock(script.commands, rt);
    if (r instanceof Promise) return r.then(restore, caught);
    restore();
  } catch (e) {
    caught(e);
  }
}

/**
 * What validation leaves on an include: how an included script is compiled
 * (as the includer was: same extensions and language, so an included
 * Momentum policy can call what the including one can), and the script
 * itself when it was linked at compile time.
 */
interface IncludeData {
  compile: NonNullable<ValidateOptions['compileNested']>;
  linked?: CompiledScript | 'skip';
}

/** The names this script declared global so far. */
function globalsOf(v: Validator): Set<string> {
  let g = v.state.get('include.globals') as Set<string> | undefined;
  if (!g) v.state.set('include.globals', (g = new Set()));
  return g;
}

/** The chain of includes being compiled: the top script starts it, nested compiles get it through their options. */
function chainOf(v: Validator): NonNullable<ValidateOptions['includes']> {
  let inc = v.options.includes ?? (v.state.get(STATE) as ValidateOptions['includes']);
  if (!inc) v.state.set(STATE, (inc = { stack: [v.options.file ?? ''], count: { n: 0 } }));
  return inc;
}

const limitOf = (v: Validator, setting: string, dflt: number) => Number(v.options.setting?.(setting) ?? dflt);

/**
 * Why the include of `key` cannot be linked, in Pigeonhole's order: it is
 * one the chain is in ('circular'), the chain is too deep, or it would be
 * one include too many (the message); undefined when nothing stops it.
 */
function refusal(v: Validator, inc: NonNullable<ValidateOptions['includes']>, key: string): 'circular' | string | undefined {
  if (inc.stack.includes(key)) return 'circular';
  const depth = limitOf(v, 'sieve_include_max_nesting_depth', MAX_DEPTH);
  if (inc.stack.length > depth) return `include: nesting deeper than ${depth} scripts`;
  const most = limitOf(v, 'sieve_include_max_includes', MAX_INCLUDES);
  return inc.count.n + 1 > most ? `include: more than ${most} included scripts` : undefined;
}

/**
 * An included script compiled ahead, in turns (prepare), for an include
 * validated later: used when the include finds the same text, the same
 * chain and the same count, and the count then goes on as that compile
 * left it, so the result is the one compiling it then would give. The
 * includes of a small block are all compiled ahead before it is validated,
 * so each is kept under its name and the count it expects (`preparedKey`),
 * the next one's count following from the one before (`countAhead`).
 */
interface Prepared {
  text: string;
  stack: string;
  n: number;
  after: number;
  result: CompileResult;
}
const PREPARED = 'include.prepared';
const preparedOf = (v: Validator) => {
  let m = v.state.get(PREPARED) as Map<string, Prepared> | undefined;
  if (!m) v.state.set(PREPARED, (m = new Map()));
  return m;
};
const preparedKey = (key: string, n: number) => `${key}\n${n}`;

/**
 * The count of includes once every include compiled ahead and not yet
 * validated is: where the next one compiled ahead starts. One left behind
 * by an include that validation then refused can only make later ones
 * miss their compile ahead and compile in the include's turn (includeNow
 * checks), never give another result.
 */
function countAhead(v: Validator, now: number): number {
  let ahead: Prepared | undefined;
  for (const p of preparedOf(v).values()) if (p.n > now && (!ahead || p.n > ahead.n)) ahead = p;
  return ahead ? ahead.after : now;
}

/**
 * Compiles an included script while the including one is validated, as
 * Pigeonhole does: a missing script, a circular include or a limit is a
 * compile error at the include, and an included script with errors makes
 * its include fail too. The result is kept on the bound node for run time.
 */
function includeNow(b: Bound, v: Validator, name: string): void {
  const data = b.data as IncludeData;
  const location = b.tags.has('global') ? 'global' : 'personal';
  const key = `${location}:${name}`;
  const inc = chainOf(v);
  const at = b.args[0]!.node.pos;
  const refused = refusal(v, inc, key);
  // RFC 6609 3.2: :once makes a repeated include a no-op, even a recursive one.
  if (refused === 'circular' && b.tags.has('once')) data.linked = 'skip';
  else if (refused) v.error(at, refused === 'circular' ? `circular include of ${location} script '${name}'` : refused);
  if (refused) return;
  inc.count.n++;
  const text = v.options.loadScript!(name, location);
  if (text === null) {
    if (b.tags.has('optional')) data.linked = 'skip';
    else v.error(at, `included ${location} script '${name}' does not exist`);
    return;
  }
  const pk = preparedKey(key, inc.count.n);
  const prepared = preparedOf(v).get(pk);
  preparedOf(v).delete(pk);
  let r: CompileResult;
  // Found under the count it expected (preparedKey): the same text and chain make it the compile this include would make.
  if (prepared && prepared.text === text && prepared.stack === inc.stack.join('\n')) {
    r = prepared.result;
    inc.count.n = prepared.after;
  } else {
    r = data.compile(text, { file: name, loadScript: v.options.loadScript, setting: v.options.setting, includes: { stack: [...inc.stack, key], count: inc.count } });
  }
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  for (const d of errors) v.diagnostics.push({ ...d, includedFrom: [{ file: v.options.file ?? '', line: at.line, column: at.column }, ...(d.includedFrom ?? [])] });
  if (!r.script) v.error(at, `failed to include ${location} script '${name}'`);
  else {
    data.linked = r.script;
    v.facts.include(key, r.script.facts);
  }
}

/**
 * For a compile in turns: the script an include is about to link, compiled
 * in turns (a large included script would otherwise be compiled in the
 * one turn of the include's validation). Whatever includeNow would refuse
 * is left to it.
 */
async function prepareInclude(node: Command, v: Validator): Promise<void> {
  const arg = node.arguments.find((a) => a.kind !== 'tag');
  const compile = v.options.compileNestedInSlices;
  if (!compile || !v.options.loadScript || arg?.kind !== 'string' || arg.value.includes('$') || nameProblem(arg.value)) return;
  const name = arg.value;
  const location = node.arguments.some((a) => a.kind === 'tag' && a.name === 'global') ? 'global' : 'personal';
  const key = `${location}:${name}`;
  const inc = chainOf(v);
  const before = countAhead(v, inc.count.n);
  if (refusal(v, { stack: inc.stack, count: { n: before } }, key)) return;
  const n = before + 1;
  const text = v.options.loadScript(name, location);
  if (text === null) return;
  const count = { n };
  const result = await compile(text, { file: name, loadScript: v.options.loadScript, setting: v.options.setting, includes: { stack: [...inc.stack, key], count } });
  preparedOf(v).set(preparedKey(key, n), { text, stack: inc.stack.join('\n'), n, after: count.n, result });
}

export const include: Extension = {
  capability: 'include',
  // RFC 6609 3.5: "${global.name}" reads a global whether or not it was declared here.
  namespaces: [{ name: 'global', read: (rt, path) => rt.globals.get(path.toLowerCase()) ?? '' }],
  commands: [
    {
      name: 'include',
      kind: 'command',
      tags: [
        { name: 'personal', group: 'location' },
        { name: 'global', group: 'location' },
        { name: 'once' },
        { name: 'optional' },
      ],
      positional: [{ name: 'script name', type: 'string' }],
      prepare: prepareInclude,
      validate(b, v) {
        const name = constantString(b.args[0]);
        if (name === null) {
          v.error(b.args[0]!.node.pos, 'the include command requires a constant script name');
          return;
        }
        const problem = nameProblem(name);
        b.data = { compile: v.options.compileNested! } satisfies IncludeData;
        if (problem) v.error(b.args[0]!.node.pos, `include: invalid ${problem}`);
        else if (v.options.loadScript) includeNow(b, v, name);
      },
      execute(b, rt) {
        const name = rt.string(b.args[0]!);
        const location = b.tags.has('global') ? 'global' : 'personal';
        const key = `${location}:${name}`;
        const s = state(rt);
        if (b.tags.has('once') && s.included.has(key)) return;
        if (s.running.includes(key)) rt.fail(`include: circular include of script '${name}'`, b.node.pos);
        if (s.running.length >= MAX_DEPTH) rt.fail(`include: nesting deeper than ${MAX_DEPTH} scripts`, b.node.pos);
        // Linked at compile time: run what was compiled then.
        const data = b.data as IncludeData;
        const linked = data.linked;
        if (linked === 'skip') return;
        if (linked) return runIncluded(rt, key, linked);
        const cached = s.compiled.get(key);
        if (cached) return runIncluded(rt, key, cached);
        const load = rt.host.loadScript?.(name, location) ?? null;
        return andThen(load, (text) => {
          if (text === null) {
            // RFC 6609 3.2: :optional makes a missing script no error.
            if (b.tags.has('optional')) return;
            throw new SieveRuntimeFailure(`include: ${location} script '${name}' does not exist`, b.node.pos);
          }
          const r = data.compile(text, { file: name });
          if (!r.script) {
            const first = r.diagnostics.find((d) => d.severity === 'error');
            throw new SieveRuntimeFailure(`include: failed to compile script '${name}'${first ? `: ${first.line}: ${first.message}` : ''}`, b.node.pos);
          }
          s.compiled.set(key, r.script);
          return runIncluded(rt, key, r.script);
        });
      },
    },
    {
      name: 'return',
      kind: 'command',
      execute() {
        throw ReturnSignal.instance;
      },
    },
    {
      name: 'global',
      kind: 'command',
      positional: [{ name: 'variable names', type: 'stringlist' }],
      validate(b, v) {
        if (!v.variables) {
          v.error(b.node.pos, 'the global command requires the "variables" extension');
          return;
        }
        // RFC 6609 3.4: a name already used as a local variable cannot become global.
        const locals = v.state.get('variables.declared') as Set<string> | undefined;
        const arg = b.args[0]!;
        const names = arg.kind === 'stringlist' ? arg.templates : arg.kind === 'string' ? [arg.template] : [];
        for (const t of names) {
          if (typeof t === 'string' && locals?.has(t.toLowerCase()) && !globalsOf(v).has(t.toLowerCase())) {
            v.error(arg.node.pos, `variable '${t}' is already used as a local variable`);
            return;
          }
        }
        for (const t of names) if (typeof t === 'string') globalsOf(v).add(t.toLowerCase());
      },
      execute(b, rt) {
        for (const n of rt.list(b.args[0]!)) rt.scope.globalNames.add(n.toLowerCase());
      },
    },
  ],
};
