/**
 * Checks the expanded statements against the schema, scope by scope: unknown
 * names (with the nearest valid one), names a scope requires or refuses,
 * duplicates, values of the wrong type and missing required options. The
 * result is a tree of scope instances holding typed values, for build.ts.
 * Problems are collected; a bad option is left out and the walk goes on.
 */
import path from 'node:path';
import type { ConfScalar } from '../../grammars/ecconf.js';
import type { Diagnostic, Position } from '../diagnostics.js';
import type { XScope, XStatement } from './includes.js';
import { type Origin, diagnosticAt, placeOf } from './origin.js';
import { type OptionSpec, type ScopeSpec, VALIDATE_MODULES, rootScope } from './schema.js';
import { ignoredOption, ignoredScope, whereOf } from './momentum.js';
import { didYouMean } from './suggest.js';

export interface SetOption {
  spec: OptionSpec;
  value: unknown;
  pos: Position;
  origin: Origin;
}

export interface ScopeInstance {
  spec: ScopeSpec;
  names: ConfScalar[];
  pos: Position;
  origin: Origin;
  /** By lower-case option name. */
  options: Map<string, SetOption>;
  children: ScopeInstance[];
  /** False when a name was refused: the body is still checked, but the scope makes nothing. */
  valid: boolean;
}

const lower = (s: string) => s.toLowerCase();

export function walkRoot(spec: ScopeSpec, statements: XStatement[], origin: Origin, diagnostics: Diagnostic[]): ScopeInstance {
  const root: ScopeInstance = { spec, names: [], pos: { line: 1, column: 1, offset: 0 }, origin, options: new Map(), children: [], valid: true };
  walkBody(root, statements, diagnostics);
  return root;
}

function walkBody(scope: ScopeInstance, statements: XStatement[], diagnostics: Diagnostic[]): void {
  const where = scopeLabel(scope);
  const optionNames = scope.spec.options.map((o) => o.name);
  const scopeNames = scope.spec.scopes.map((s) => s.name);
  const report = (origin: Origin, pos: Position, message: string) => diagnostics.push(diagnosticAt(origin, pos, message));
  // Every option written, valid or not: a bad value is neither "missing" nor a reason to accept a second one silently.
  const written = new Map<string, { origin: Origin; pos: Position }>();

  for (const st of statements) {
    if (st.kind === 'option') {
      const spec = scope.spec.options.find((o) => lower(o.name) === lower(st.key));
      if (!spec) {
        const ignored = ignoredOption(st.key, whereOf(scope.spec.name), where);
        if (ignored) {
          diagnostics.push(diagnosticAt(st.origin, st.pos, ignored, 'warning'));
          continue;
        }
        const asScope = scope.spec.scopes.find((s) => lower(s.name) === lower(st.key));
        report(st.origin, st.pos, asScope
          ? `'${st.key}' is a scope, not an option: write ${asScope.name} ... { ... }`
          : `unknown option '${st.key}' in ${where}${didYouMean(st.key, [...optionNames, ...scopeNames])}`);
        continue;
      }
      const earlier = written.get(lower(spec.name));
      if (earlier) {
        report(st.origin, st.pos, `duplicate option '${spec.name}' in ${where} (first set at ${placeOf(earlier.origin, earlier.pos)})`);
        continue;
      }
      written.set(lower(spec.name), { origin: st.origin, pos: st.pos });
      const parsed = spec.type.parse(st.value, { dir: path.dirname(st.origin.file) });
      if (!parsed.ok) {
        for (const p of parsed.problems) report(st.origin, p.pos, `${spec.name}: ${p.message}`);
        continue;
      }
      scope.options.set(lower(spec.name), { spec, value: parsed.value, pos: st.pos, origin: st.origin });
      continue;
    }
    walkScope(scope, st, diagnostics);
  }

  for (const o of scope.spec.options) {
    if (o.required && !written.has(lower(o.name))) {
      report(scope.origin, scope.pos, `missing required option '${o.name}' in ${where}`);
    }
  }
}

function walkScope(parent: ScopeInstance, st: XScope, diagnostics: Diagnostic[]): void {
  const report = (pos: Position, message: string) => diagnostics.push(diagnosticAt(st.origin, pos, message));
  let spec = parent.spec.scopes.find((s) => lower(s.name) === lower(st.type));
  let names = st.names;

  // The 2.x module form: `Validate validate/sieve [instance] { ... }`.
  if (!spec && lower(st.type) === 'validate' && parent.spec === rootScope) {
    const module = names[0];
    if (!module) return void report(st.pos, `Validate needs a module path such as validate/sieve`);
    spec = VALIDATE_MODULES.get(lower(module.text));
    if (!spec) {
      return void report(module.pos, `unknown module '${module.text}'${didYouMean(module.text, [...VALIDATE_MODULES.keys()])}`);
    }
    names = names.slice(1);
  }

  if (!spec) {
    const ignored = ignoredScope(st.type);
    if (ignored) return void diagnostics.push(diagnosticAt(st.origin, st.pos, ignored, 'warning'));
    const asOption = parent.spec.options.find((o) => lower(o.name) === lower(st.type));
    const candidates = [...parent.spec.scopes.map((s) => s.name), ...parent.spec.options.map((o) => o.name)];
    return void report(st.pos, asOption
      ? `'${st.type}' is an option, not a scope: write ${asOption.name} = value`
      : `unknown scope '${st.type}' in ${scopeLabel(parent)}${didYouMean(st.type, candidates)}`);
  }

  for (const n of names) {
    const ignored = spec.names.ignore?.(n);
    if (ignored) return void diagnostics.push(diagnosticAt(st.origin, n.pos, ignored, 'warning'));
  }

  // A refused scope still has its body checked (as an instance that makes nothing), so that
  // fixing its name does not uncover a second round of errors inside it.
  let valid = true;
  const refuse = (pos: Position, message: string) => {
    report(pos, message);
    valid = false;
  };
  if (names.length < spec.names.min) refuse(st.pos, `${spec.name} needs a name (${spec.names.label})`);
  else if (names.length > spec.names.max) {
    const extra = names[spec.names.max]!;
    refuse(extra.pos, spec.names.max === 0 ? `${spec.name} takes no name` : `${spec.name} takes at most one name (${spec.names.label})`);
  } else {
    for (const n of names) {
      const problem = spec.names.check?.(n);
      if (problem) refuse(n.pos, problem);
    }
  }

  const twin = valid && parent.children.find((c) => c.valid && c.spec === spec && (spec.repeat === 'once' || sameName(c.names[0], names[0])));
  if (twin) {
    const label = spec.repeat === 'once' ? `scope '${spec.name}'` : `${spec.name} '${names[0]?.text ?? ''}'`;
    refuse(st.pos, `duplicate ${label} (first at ${placeOf(twin.origin, twin.pos)})`);
  }

  const instance: ScopeInstance = { spec, names, pos: st.pos, origin: st.origin, options: new Map(), children: [], valid };
  parent.children.push(instance);
  walkBody(instance, st.body, diagnostics);
}

function sameName(a: ConfScalar | undefined, b: ConfScalar | undefined): boolean {
  return lower(a?.text ?? '') === lower(b?.text ?? '');
}

function scopeLabel(scope: ScopeInstance): string {
  if (scope.spec === rootScope) return 'the top level';
  const name = scope.names[0];
  return name ? `${scope.spec.name} "${name.text}"` : scope.spec.name;
}
