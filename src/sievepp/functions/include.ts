/**
 * ec_include (sieve-ref-ec-include.md): runs another script, named by a
 * file name or a datasource query (`:datasource:<name>:<query>` with the
 * list as its parameters), fetched through the host (MomentumHost.loadInclude)
 * and compiled as the including script was. The included script has its
 * own variables; a terminal action in it ends the phase; a script that is
 * not found is logged and the run goes on.
 *
 * The script is fetched at every call (a file or a row may change) but
 * compiled once per text: an include runs for every message, and compiling
 * it each time was the event loop's time for every message.
 */
import { LruMap } from '../../lru-map.js';
import type { CompileResult } from '../../sieve/compile.js';
import { andThen, runBlock } from '../../sieve/interpreter.js';
import type { Bound } from '../../sieve/registry.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import type { ValidateOptions } from '../../sieve/validate.js';
import { argString, argValue, type SieveFunction } from '../functions.js';
import { hostOf } from '../host.js';
import { toList } from '../values.js';

const MAX_DEPTH = 10;
/** Compiled texts kept per ec_include call site (a datasource include may fetch a different script per argument). */
const MAX_COMPILED = 64;
const DEPTH = 'sievepp.ec_include.depth';

/** What validation leaves on an ec_include: how to compile (as the including script was) and what was compiled. */
export interface IncludeData {
  compile: NonNullable<ValidateOptions['compileNested']>;
  /** By text, MAX_COMPILED at most, the least recently used dropped first; with the name it was compiled under, which its errors cite. */
  compiled: LruMap<string, { uri: string; result: CompileResult }>;
}

/** The compiled script for `text` from `uri`, compiled only when this call site has not compiled the same lately. */
export function compiledInclude(data: IncludeData, uri: string, text: string): CompileResult {
  const known = data.compiled.get(text);
  if (known?.uri === uri) return known.result;
  const entry = { uri, result: data.compile(text, { file: uri }) };
  data.compiled.set(text, entry);
  return entry.result;
}

/** The compiled texts of one call site. */
export const newIncludeCache = (): IncludeData['compiled'] => new LruMap(MAX_COMPILED);

function runScript(b: Bound, rt: Runtime, uri: string, text: string | null) {
  const host = hostOf(rt);
  if (text === null) {
    host.log?.('error', `ec_include: script '${uri}' not found`);
    rt.warn(`ec_include: script '${uri}' not found`, b.node.pos);
    return;
  }
  const r = compiledInclude(b.data as IncludeData, uri, text);
  if (!r.script) {
    const first = r.diagnostics.find((d) => d.severity === 'error');
    return rt.fail(`ec_include: failed to compile '${uri}'${first ? `: ${first.line}:${first.column}: ${first.message}` : ''}`, b.node.pos);
  }
  const depth = (rt.state.get(DEPTH) as number | undefined) ?? 0;
  if (depth >= MAX_DEPTH) return rt.fail(`ec_include: nesting deeper than ${MAX_DEPTH} scripts`, b.node.pos);
  const saved = rt.scope;
  rt.scope = { vars: new Map(), globalNames: new Set() };
  rt.installNamespaces(r.script.namespaces);
  rt.state.set(DEPTH, depth + 1);
  const restore = () => {
    rt.scope = saved;
    rt.state.set(DEPTH, depth);
  };
  try {
    const done = runBlock(r.script.commands, rt);
    if (done instanceof Promise) return done.finally(restore);
    restore();
  } catch (e) {
    restore();
    throw e;
  }
}

const ecInclude: SieveFunction = {
  name: 'ec_include',
  uses: { command: true },
  params: [
    { name: 'uri', type: 'string' },
    { name: 'arguments', type: 'any', optional: true },
  ],
  validate(b, v) {
    b.data = { compile: v.options.compileNested!, compiled: newIncludeCache() } satisfies IncludeData;
  },
  call(b, rt) {
    const uri = argString(b, rt, 0)!;
    const args = b.args.length > 1 ? toList(argValue(b, rt, 1)!) : [];
    const load = hostOf(rt).loadInclude;
    if (!load) return rt.fail('ec_include: this host cannot load scripts', b.node.pos);
    return andThen(load(uri, args), (text) => runScript(b, rt, uri, text));
  },
};

export const includeFunctions: SieveFunction[] = [ecInclude];
