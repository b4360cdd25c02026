/**
 * What a script does, learnt while it is validated, so that a host can
 * decide from facts rather than from the script's text: which commands,
 * tests and functions it uses, the constant first argument of each use
 * (the key a context read names, the item an environment test asks for),
 * the variable namespaces its strings reference (RFC 5229 3), and the
 * scripts it includes (RFC 6609), whose facts are merged in. The core
 * only collects; what a fact means is the host's business.
 */
import type { Bound } from './registry.js';
import type { Template } from './runtime/strings.js';

export interface ScriptFacts {
  /** Every command, test and function used, by lower-case name. */
  readonly names: ReadonlySet<string>;
  /** By name: each use's first positional argument when it is a constant string, else null. */
  readonly firstArguments: ReadonlyMap<string, readonly (string | null)[]>;
  /** Namespace references in strings, as "namespace:name" (lower case), e.g. "vctx_mess:smtp_cbv_result". */
  readonly references: ReadonlySet<string>;
  /** Included scripts, as "personal:name" or "global:name". */
  readonly includes: ReadonlySet<string>;
}

export class FactsCollector implements ScriptFacts {
  readonly names = new Set<string>();
  readonly firstArguments = new Map<string, (string | null)[]>();
  readonly references = new Set<string>();
  readonly includes = new Set<string>();

  /** A command, test or function bound by the validator. */
  bound(b: Bound): void {
    const name = b.node.name;
    this.names.add(name);
    const first = b.args[0];
    const constant = first && first.kind === 'string' && typeof first.template === 'string' && !first.source ? first.template : null;
    let uses = this.firstArguments.get(name);
    if (!uses) this.firstArguments.set(name, (uses = []));
    uses.push(constant);
  }

  /** A string's namespace references (`${ns.name}`, Sieve++ `%{ns:key}`). */
  template(t: Template): void {
    if (typeof t === 'string') return;
    for (const p of t) {
      if (typeof p === 'object' && 'ns' in p && p.ns !== undefined) this.references.add(`${p.ns}:${String(p.name)}`.toLowerCase());
    }
  }

  /** An included script: its facts become this script's. */
  include(key: string, facts: ScriptFacts | undefined): void {
    this.includes.add(key);
    if (!facts) return;
    for (const n of facts.names) this.names.add(n);
    for (const [n, args] of facts.firstArguments) {
      const uses = this.firstArguments.get(n);
      if (uses) uses.push(...args);
      else this.firstArguments.set(n, [...args]);
    }
    for (const r of facts.references) this.references.add(r);
    for (const i of facts.includes) this.includes.add(i);
  }
}

