/**
 * The check of a policy case file's YAML tree (case-file.ts parses it),
 * key by key against the format docs/testing-policies.md gives: every
 * problem is a diagnostic at its node's file:line:col, and what passes
 * becomes the cases (case.ts).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml';
import type { Diagnostic, Position } from '../diagnostics.js';
import { PHASES, type Phase } from '../session/phases.js';
import type { DryRunConnection, ModuleSettings, PhaseSource } from './session.js';
import { AUTH_STUB_KEYS, AUTH_STUB_WORDS, type AuthStub, checkAuthStub } from './auth-stub.js';
import type { Case, CaseFile, Pattern, PhaseExpectation } from './case.js';
import { CBV_STATUSES, type CbvStub, type CbvStubs, checkStub, type SeenId } from './stubs.js';

const EXPECT_KEYS = new Set(['code', 'reply', 'actions', 'implicit_keep', 'variables', 'cbv_calls', 'error', 'reached']);

/** Checks one case file's tree into `diagnostics`; the files its cases name in message_file: are read after (readMessages). */
export class Checker {
  private readonly messageFiles = new Map<Case, { path: string; at: Position }>();
  constructor(
    private readonly path: string,
    private readonly posOf: (offset: number) => Position,
    private readonly diagnostics: Diagnostic[],
  ) {}

  at(node: Node | null | undefined): Position {
    return this.posOf(node?.range?.[0] ?? 0);
  }

  error(node: Node | null | undefined, message: string): undefined {
    this.diagnostics.push({ severity: 'error', message, file: this.path, ...this.at(node) });
    return undefined;
  }

  /** The entries of a mapping, each key checked against `known`. */
  entries(node: Node | null | undefined, what: string, known?: ReadonlySet<string>): Array<[string, Node | null, Node]> {
    if (!isMap(node)) return this.error(node, `${what} must be a mapping`) ?? [];
    const out: Array<[string, Node | null, Node]> = [];
    for (const pair of (node as YAMLMap<Node, Node>).items) {
      const key = pair.key;
      if (!isScalar(key)) {
        this.error(key, `${what}: keys must be plain names`);
        continue;
      }
      const name = String(key.value);
      if (known && !known.has(name)) {
        this.error(key, `${what}: unknown key "${name}" (known: ${[...known].join(', ')})`);
        continue;
      }
      out.push([name, pair.value ?? null, key]);
    }
    return out;
  }

  str(node: Node | null, what: string): string | undefined {
    if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number')) return String(node.value);
    return this.error(node, `${what} must be a string`);
  }

  bool(node: Node | null, what: string): boolean | undefined {
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    return this.error(node, `${what} must be true or false`);
  }

  strings(node: Node | null, what: string): string[] | undefined {
    if (isScalar(node)) return [this.str(node, what) ?? ''];
    if (!isSeq(node)) return this.error(node, `${what} must be a string or a list of strings`);
    return node.items.map((n) => this.str(n as Node, what) ?? '');
  }

  phase(node: Node | null, what: string): Phase | undefined {
    const s = this.str(node, what);
    if (s === undefined) return undefined;
    if ((PHASES as readonly string[]).includes(s)) return s as Phase;
    return this.error(node, `${what}: unknown phase "${s}" (phases: ${PHASES.join(', ')})`);
  }

  pattern(node: Node | null, what: string): Pattern | undefined {
    const s = this.str(node, what);
    if (s === undefined) return undefined;
    const m = /^\/(.*)\/([imsu]*)$/s.exec(s);
    if (!m) return { exact: s };
    try {
      return { regex: new RegExp(m[1]!, m[2]), source: s };
    } catch (e) {
      return this.error(node, `${what}: not a regular expression: ${(e as Error).message}`);
    }
  }

  file(root: Node | null): CaseFile | undefined {
    const file: CaseFile = { file: this.path, cases: [] };
    let defaults: Node | null = null;
    let cases: Node | null = null;
    for (const [k, v] of this.entries(root, 'the case file', new Set(['config', 'scripts', 'cbv_module', 'defaults', 'cases']))) {
      if (k === 'config') file.config = this.str(v, 'config');
      else if (k === 'scripts') file.scripts = this.scripts(v);
      else if (k === 'cbv_module') file.cbvModule = this.module(v);
      else if (k === 'defaults') defaults = v;
      else cases = v;
    }
    if (file.config && file.scripts) this.error(root, 'give either config or scripts, not both');
    if (!file.config && !file.scripts) return this.error(root, 'the case file needs config: (a configuration file) or scripts: (scripts by phase)');
    if (!isSeq(cases) || !cases.items.length) return this.error(cases ?? root, 'cases: must be a non-empty list of cases');
    const base = defaults ? this.entries(defaults, 'defaults', new Set(['connection', 'context', 'envelope', 'cbv', 'recipient_verify', 'dns', 'authentication', 'duplicates'])) : [];
    for (const item of cases.items) {
      const c = this.case(item as Node, base);
      if (c) file.cases.push(c);
    }
    return file;
  }

  scripts(node: Node | null): Partial<Record<Phase, PhaseSource>> {
    const out: Partial<Record<Phase, PhaseSource>> = {};
    for (const [k, v, key] of this.entries(node, 'scripts')) {
      const phase = this.phase(key, 'scripts');
      if (!phase) continue;
      if (isMap(v)) {
        const slots: { phase1?: { file: string }; phase2?: { file: string } } = {};
        for (const [slot, f] of this.entries(v, `scripts.${k}`, new Set(['phase1', 'phase2']))) {
          const s = this.str(f, `scripts.${k}.${slot}`);
          if (s !== undefined) slots[slot as 'phase1' | 'phase2'] = { file: s };
        }
        out[phase] = slots;
      } else {
        const s = this.str(v, `scripts.${k}`);
        if (s !== undefined) out[phase] = { file: s };
      }
    }
    return out;
  }

  module(node: Node | null): ModuleSettings | undefined {
    const m: ModuleSettings = { enabled: true, phase: 'mailfrom' };
    for (const [k, v] of this.entries(node, 'cbv_module', new Set(['enabled', 'phase']))) {
      if (k === 'enabled') m.enabled = this.bool(v, 'cbv_module.enabled') ?? true;
      else {
        const p = this.phase(v, 'cbv_module.phase');
        if (p && p !== 'mailfrom' && p !== 'rcptto') this.error(v, 'cbv_module.phase must be mailfrom or rcptto');
        else if (p) m.phase = p;
      }
    }
    return m;
  }

  case(node: Node, defaults: Array<[string, Node | null, Node]>): Case | undefined {
    const known = new Set(['name', 'phase', 'phases', 'connection', 'context', 'envelope', 'message', 'message_file', 'cbv', 'recipient_verify', 'dns', 'authentication', 'duplicates', 'expect']);
    const own = this.entries(node, 'a case', known);
    const c: Case = { name: '', at: this.at(node), connection: {}, context: {}, envelope: { from: '', to: [] }, cbv: {}, recipientVerify: {}, dns: {}, authentication: {}, duplicates: [], expect: {} };
    let hasEnvelope = false;
    let hasExpect = false;
    // Defaults first, then the case's own keys: mappings merge, a case's value wins.
    for (const [k, v] of [...defaults, ...own]) {
      switch (k) {
        case 'name':
          c.name = this.str(v, 'name') ?? '';
          break;
        case 'phase':
        case 'phases': {
          const list = isSeq(v) ? (v.items as Node[]) : [v];
          c.phases = list.map((p) => this.phase(p, k)).filter((p): p is Phase => !!p);
          break;
        }
        case 'connection':
          this.connection(v, c.connection);
          break;
        case 'context':
          for (const [name, value] of this.entries(v, 'context')) c.context[name] = this.str(value, `context.${name}`) ?? '';
          break;
        case 'envelope':
          hasEnvelope = true;
          for (const [name, value] of this.entries(v, 'envelope', new Set(['from', 'to']))) {
            // The null sender: "", "<>" or nothing at all.
            if (name === 'from') c.envelope.from = isScalar(value) && value.value === null ? '' : (this.str(value, 'envelope.from') ?? '').replace(/^<>$/, '');
            else c.envelope.to = this.strings(value, 'envelope.to') ?? [];
          }
          break;
        case 'message':
          c.message = this.str(v, 'message');
          break;
        case 'message_file': {
          const f = this.str(v, 'message_file');
          if (f !== undefined) this.messageFiles.set(c, { path: f, at: this.at(v) });
          break;
        }
        case 'cbv':
        case 'recipient_verify':
          this.cbv(v, k === 'cbv' ? c.cbv : c.recipientVerify, k);
          break;
        case 'dns':
          for (const [name, value] of this.entries(v, 'dns')) c.dns[name] = this.strings(value, `dns."${name}"`) ?? [];
          break;
        case 'authentication':
          this.authentication(v, c.authentication);
          break;
        case 'duplicates':
          c.duplicates = this.seenIds(v);
          break;
        case 'expect':
          hasExpect = true;
          c.expect = this.expect(v);
          break;
      }
    }
    if (!c.name) this.error(node, 'a case needs a name');
    const authProblem = checkAuthStub(c.authentication);
    if (authProblem) this.error(node, `case "${c.name}": authentication: ${authProblem}`);
    if (!hasEnvelope || !c.envelope.to.length) this.error(node, `case "${c.name}": envelope: needs from (use "" for the null sender) and to`);
    const phases = c.phases;
    for (const [phase, want] of Object.entries(c.expect)) {
      const at = Array.isArray(want) ? want[0]?.at : want?.at;
      if (phases && !phases.includes(phase as Phase)) this.diagnostics.push({ severity: 'error', message: `expect.${phase}: not among the phases this case reports (${phases.join(', ')})`, file: this.path, ...(at ?? c.at) });
    }
    // DATA needs a message: without one the session ends after RCPT TO, and the check could never pass.
    const data = c.expect.data;
    const dataAt = Array.isArray(data) ? data[0]?.at : data?.at;
    if (data && !this.messageFiles.has(c) && c.message === undefined && !(Array.isArray(data) ? data : [data]).every((e) => e.reached === false)) {
      this.diagnostics.push({ severity: 'error', message: 'expect.data: the case has no message (add message: or message_file:)', file: this.path, ...(dataAt ?? c.at) });
    }
    // Only when expect: is missing: a wrong key inside it has been reported already.
    if (!hasExpect) this.error(node, `case "${c.name}": expect: is missing; a case must check something`);
    return c;
  }

  /** `duplicates:`: a list of ids (tested without :handle) or `{ handle, id }` mappings. */
  seenIds(node: Node | null): SeenId[] {
    if (!isSeq(node)) {
      this.error(node, 'duplicates: expected a list of ids, or of { handle, id }');
      return [];
    }
    const out: SeenId[] = [];
    for (const item of node.items as Node[]) {
      if (isScalar(item)) {
        const id = this.str(item, 'duplicates');
        if (id !== undefined) out.push({ id });
        continue;
      }
      const one: SeenId = { id: '' };
      for (const [k, v] of this.entries(item, 'duplicates', new Set(['handle', 'id']))) one[k as 'handle' | 'id'] = this.str(v, `duplicates.${k}`) ?? '';
      if (!one.id) this.error(item, 'duplicates: an entry needs an id');
      else out.push(one);
    }
    return out;
  }

  connection(node: Node | null, into: DryRunConnection): void {
    for (const [k, v] of this.entries(node, 'connection', new Set(['ip', 'port', 'helo', 'esmtp', 'tls', 'auth']))) {
      if (k === 'tls' || k === 'esmtp') into[k] = this.bool(v, `connection.${k}`);
      else if (k === 'port') into.port = Number(this.str(v, 'connection.port'));
      else into[k as 'ip' | 'helo' | 'auth'] = this.str(v, `connection.${k}`);
    }
  }

  /** `spf: pass`, `dmarc_policy: reject`...: each result among the words docs/authentication.md lists. */
  authentication(node: Node | null, into: AuthStub): void {
    for (const [k, v] of this.entries(node, 'authentication', AUTH_STUB_KEYS)) {
      const value = this.str(v, `authentication.${k}`);
      const words = AUTH_STUB_WORDS[k as keyof AuthStub];
      if (value !== undefined && words && !words.includes(value)) this.error(v, `authentication.${k} must be one of ${words.map((w) => w || '""').join(', ')}`);
      else if (value !== undefined) into[k as keyof AuthStub] = value;
    }
  }

  /** `address: status`, `address: "status: reply"`, or `address: {status, reply, reason}`; `default:` for the rest. */
  cbv(node: Node | null, into: CbvStubs, key = 'cbv'): void {
    for (const [address, v] of this.entries(node, key)) {
      const stub = this.stub(v, `${key}."${address}"`);
      if (!stub) continue;
      if (address === 'default') into.default = stub;
      else (into.addresses ??= {})[address] = stub;
    }
  }

  stub(node: Node | null, what: string): CbvStub | undefined {
    let stub: CbvStub | undefined;
    if (isMap(node)) {
      const s: Partial<CbvStub> = {};
      for (const [k, v] of this.entries(node, what, new Set(['status', 'reply', 'reason']))) (s as Record<string, string>)[k] = this.str(v, `${what}.${k}`) ?? '';
      stub = s as CbvStub;
    } else {
      const text = this.str(node, what);
      if (text === undefined) return undefined;
      const colon = text.indexOf(':');
      stub = colon < 0 ? { status: text.trim() as CbvStub['status'] } : { status: text.slice(0, colon).trim() as CbvStub['status'], reply: text.slice(colon + 1).trim() };
    }
    if (!CBV_STATUSES.includes(stub.status)) return this.error(node, `${what}: status must be one of ${CBV_STATUSES.join(', ')}`);
    const wrong = checkStub(stub);
    return wrong ? this.error(node, `${what}: ${wrong}`) : stub;
  }

  expect(node: Node | null): Case['expect'] {
    const out: Case['expect'] = {};
    for (const [k, v, phaseKey] of this.entries(node, 'expect')) {
      const phase = this.phase(phaseKey, 'expect');
      if (!phase) continue;
      if (isSeq(v)) {
        if (phase !== 'rcptto' && phase !== 'each_rcpt') this.error(v, `expect.${phase}: a list (one expectation per recipient) is for rcptto and each_rcpt only`);
        out[phase] = (v.items as Node[]).map((n) => this.phaseExpectation(n, `expect.${phase}`));
      } else out[phase] = this.phaseExpectation(v, `expect.${phase}`);
    }
    return out;
  }

  phaseExpectation(node: Node | null, what: string): PhaseExpectation {
    const e: PhaseExpectation = { at: this.at(node) };
    for (const [k, v] of this.entries(node, what, EXPECT_KEYS)) {
      if (k === 'code') {
        const code = Number(this.str(v, `${what}.code`));
        if (!(code >= 200 && code <= 599)) this.error(v, `${what}.code must be an SMTP reply code (200-599)`);
        e.code = code;
      } else if (k === 'reply') e.reply = this.pattern(v, `${what}.reply`);
      else if (k === 'actions') e.actions = isSeq(v) && !v.items.length ? [] : this.strings(v, `${what}.actions`);
      else if (k === 'implicit_keep') e.implicitKeep = this.bool(v, `${what}.implicit_keep`);
      else if (k === 'reached') e.reached = this.bool(v, `${what}.reached`);
      else if (k === 'error') e.error = this.pattern(v, `${what}.error`);
      else if (k === 'cbv_calls') e.cbvCalls = isSeq(v) && !v.items.length ? [] : this.strings(v, `${what}.cbv_calls`);
      else {
        e.variables = {};
        for (const [name, value] of this.entries(v, `${what}.variables`)) {
          e.variables[name] = isScalar(value) && value.value === null ? null : (this.pattern(value, `${what}.variables.${name}`) ?? null);
        }
      }
    }
    return e;
  }

  /** message_file: read relative to the case file; a missing file is an error at the key. */
  async readMessages(file: CaseFile, dir: string): Promise<void> {
    for (const [c, m] of this.messageFiles) {
      try {
        c.message = await readFile(resolve(dir, m.path), 'utf8');
      } catch (e) {
        this.diagnostics.push({ severity: 'error', message: `message_file: cannot read ${m.path} (${(e as NodeJS.ErrnoException).code ?? e})`, file: file.file, ...m.at });
      }
    }
  }
}
