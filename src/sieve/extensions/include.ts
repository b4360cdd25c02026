/**
 * RFC 6609: include, return and global. Included scripts are loaded from
 * the host (SieveHost.loadScript), compiled once per run and run with the
 * same result but their own variables (3.4); `global` names are shared,
 * also as "${global.name}" (3.5). `:once` skips a script already included
 * (3.2); including a script that is running is an error, as is nesting
 * deeper than MAX_DEPTH.
 */
import { type CompiledScript, type CompileOptions, compileSieve, inheritedOptions } from '../compile.js';
import { andThen, runBlock } from '../interpreter.js';
import type { Extension } from '../registry.js';
import { ReturnSignal, type Runtime, SieveRuntimeFailure } from '../runtime/runtime.js';
import { constantString } from '../validate.js';

const MAX_DEPTH = 10;
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

export const include: Extension = {
  capability: 'include',
  onRequire(v) {
    v.namespaces.add('global');
  },
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
      validate(b, v) {
        const name = constantString(b.args[0]);
        if (name === null) {
          v.error(b.args[0]!.node.pos, 'the include command requires a constant script name');
          return;
        }
        const problem = nameProblem(name);
        if (problem) v.error(b.args[0]!.node.pos, `include: invalid ${problem}`);
        b.data = inheritedOptions(v);
      },
      execute(b, rt) {
        const name = rt.string(b.args[0]!);
        const location = b.tags.has('global') ? 'global' : 'personal';
        const key = `${location}:${name}`;
        const s = state(rt);
        if (b.tags.has('once') && s.included.has(key)) return;
        if (s.running.includes(key)) rt.fail(`include: circular include of script '${name}'`, b.node.pos);
        if (s.running.length >= MAX_DEPTH) rt.fail(`include: nesting deeper than ${MAX_DEPTH} scripts`, b.node.pos);
        const cached = s.compiled.get(key);
        if (cached) return runIncluded(rt, key, cached);
        const load = rt.host.loadScript?.(name, location) ?? null;
        return andThen(load, (text) => {
          if (text === null) {
            // RFC 6609 3.2: :optional makes a missing script no error.
            if (b.tags.has('optional')) return;
            throw new SieveRuntimeFailure(`include: ${location} script '${name}' does not exist`, b.node.pos);
          }
          const r = compileSieve(text, { file: name, ...(b.data as CompileOptions) });
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
        if (!v.variables) v.error(b.node.pos, 'the global command requires the "variables" extension');
      },
      execute(b, rt) {
        for (const n of rt.list(b.args[0]!)) rt.scope.globalNames.add(n.toLowerCase());
      },
    },
  ],
};
