/**
 * `vnd.dovecot.testsuite`: the commands Pigeonhole's conformance suite is
 * written in (see Pigeonhole's src/testsuite for their meaning). Registered
 * only in the test runner's registry, never in the production one.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { hasErrors } from '../../diagnostics.js';
import { type CompiledScript, compileSieve } from '../compile.js';
import { andThen, execute, executeSequence, matchTest, runBlock } from '../interpreter.js';
import type { CommandDef, Extension } from '../registry.js';
import { headerValues, parseMessage, type SieveMessage } from '../runtime/message.js';
import { formatAddress, parseAddressList } from '../runtime/address.js';
import { normalizeMailbox } from '../runtime/result.js';
import type { Envelope } from '../runtime/host.js';
import type { Runtime } from '../runtime/runtime.js';
import { SieveRuntimeFailure, StopSignal } from '../runtime/signals.js';
import { executeResult } from './result-execute.js';
import { suiteScriptLoader, TestFailure, type TestsuiteState } from './state.js';
import { suiteExternalLists } from './lists.js';

export const STATE = 'testsuite';
export const stateOf = (rt: Runtime): TestsuiteState => rt.state.get(STATE) as TestsuiteState;

const testCommand: CommandDef = {
  name: 'test',
  kind: 'command',
  positional: [{ name: 'test name', type: 'string' }],
  block: 'required',
  execute(b, rt) {
    const st = stateOf(rt);
    const name = rt.string(b.args[0]!);
    st.current = name;
    const finish = (reason?: string) => {
      st.outcomes.push(reason === undefined ? { name, passed: true } : { name, passed: false, reason });
      st.current = null;
    };
    const failed = (e: unknown) => {
      if (e instanceof TestFailure) return finish(e.reason || 'test_fail');
      if (e instanceof SieveRuntimeFailure) return finish(`runtime error: ${e.message}`);
      // `stop` inside a test ends the test, and the test passed (control-stop.svtest).
      if (e instanceof StopSignal) return finish();
      throw e;
    };
    try {
      const r = runBlock(b.block ?? [], rt);
      if (r instanceof Promise) return r.then(() => finish(), failed);
      finish();
    } catch (e) {
      failed(e);
    }
  },
};

const testFail: CommandDef = {
  name: 'test_fail',
  kind: 'command',
  positional: [{ name: 'reason', type: 'string' }],
  execute(b, rt) {
    throw new TestFailure(rt.string(b.args[0]!));
  },
};

const testSet: CommandDef = {
  name: 'test_set',
  kind: 'command',
  positional: [
    { name: 'object', type: 'string' },
    { name: 'value', type: 'string' },
  ],
  execute(b, rt) {
    const what = rt.string(b.args[0]!).toLowerCase();
    const value = rt.string(b.args[1]!);
    const env = rt.envelope;
    if (what === 'message') {
      rt.message = parseMessage(value);
      rt.forget();
      rt.envelope = envelopeFromMessage(rt.message);
    }
    else if (what === 'envelope.from') env.from = value;
    else if (what === 'envelope.to') env.to = [value];
    else if (what === 'envelope.orig_to') env.origTo = value;
    else if (what === 'envelope.auth') env.auth = value;
    else rt.fail(`test_set: unknown object '${what}'`, b.node.pos);
  },
};

/**
 * Like Pigeonhole's testsuite (testsuite-message.c), a new message brings
 * its envelope: the recipient from Envelope-To or To, the sender from
 * Return-Path, Sender or From, else the defaults.
 */
function envelopeFromMessage(m: SieveMessage): Envelope {
  const first = (...names: string[]) => {
    for (const n of names) {
      const a = headerValues(m, n)[0];
      const list = a === undefined ? null : parseAddressList(a);
      if (list && list[0]) return formatAddress(list[0]);
    }
    return undefined;
  };
  const to = first('envelope-to', 'to') ?? 'recipient@example.com';
  return { from: first('return-path', 'sender', 'from') ?? 'sender@example.com', to: [to], origTo: to };
}

const testScriptCompile: CommandDef = {
  name: 'test_script_compile',
  kind: 'test',
  positional: [{ name: 'script', type: 'string' }],
  evaluate(b, rt) {
    const st = stateOf(rt);
    const file = resolve(st.dir, rt.string(b.args[0]!));
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      st.errors = [`cannot read script ${file}`, 'parse failed'];
      st.compiled = null;
      return false;
    }
    const r = compileSieve(text, {
      file,
      registry: st.registry,
      loadScript: suiteScriptLoader(st.dir, st.config),
      setting: (n) => st.config.get(n),
      knownList: suiteExternalLists(st.config).knownList,
    });
    const errors = r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
    // Pigeonhole ends a failed compile with one summary error, which test_error counts.
    if (hasErrors(r.diagnostics)) errors.push('script compilation failed');
    st.errors = errors;
    st.compiled = r.script;
    st.scriptResult = null;
    return r.script !== null;
  },
};

/**
 * test_script_run [:append_result]: runs the compiled script. With
 * :append_result its actions join the result of the previous run, as the
 * actions of scripts run in sequence make one result (Pigeonhole's
 * multiscript): each is added under the same rules (RFC 5228 2.10.3).
 */
const testScriptRun: CommandDef = {
  name: 'test_script_run',
  kind: 'test',
  tags: [{ name: 'append_result' }],
  evaluate(b, rt) {
    const st = stateOf(rt);
    if (!st.compiled) return false;
    // The last run's result, though a compile since made the suite's own result current again.
    const previous = b.tags.has('append_result') ? st.lastRun : null;
    const ctx = { message: rt.message, envelope: { ...rt.envelope, to: [...rt.envelope.to] } };
    return andThen(execute(st.compiled, ctx, rt.host), (res) => {
      st.errors = [...res.errors, ...res.warnings].map((e) => e.message);
      if (!previous) {
        st.scriptResult = st.lastRun = res;
        return res.errors.length === 0;
      }
      st.scriptResult = previous;
      const total = previous.runtime.result;
      for (const a of res.runtime.result.actions) {
        const err = total.add(a);
        if (err) st.errors.push(err);
      }
      total.implicitKeep &&= res.runtime.result.implicitKeep;
      return res.errors.length === 0 && st.errors.length === res.warnings.length;
    });
  },
};

/** test_multiscript: compiles the scripts and runs them in sequence, then executes the result. */
const testMultiscript: CommandDef = {
  name: 'test_multiscript',
  kind: 'test',
  positional: [{ name: 'scripts', type: 'stringlist' }],
  async evaluate(b, rt) {
    const st = stateOf(rt);
    const scripts: CompiledScript[] = [];
    for (const path of rt.list(b.args[0]!)) {
      const file = resolve(st.dir, path);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        return false;
      }
      const r = compileSieve(text, { file, registry: st.registry, loadScript: suiteScriptLoader(st.dir, st.config), setting: (n) => st.config.get(n), knownList: suiteExternalLists(st.config).knownList });
      if (!r.script) return false;
      scripts.push(r.script);
    }
    const ctx = { message: rt.message, envelope: { ...rt.envelope, to: [...rt.envelope.to] } };
    const res = await executeSequence(scripts, ctx, rt.host);
    st.scriptResult = res;
    st.errors = res.errors.map((e) => e.message);
    if (res.errors.length) return false;
    const keepFlags = (res.runtime.state.get('imap4flags') as string[] | undefined) ?? [];
    st.errors = executeResult(res.runtime.result, res.runtime, st, keepFlags);
    return st.errors.length === 0;
  },
};

/** The result the result commands inspect: the script under test's, else the suite's own. */
const currentResult = (rt: Runtime) => stateOf(rt).scriptResult?.runtime.result ?? rt.result;

const indexTag = { name: 'index', args: [{ name: 'index', type: 'number' as const }] };

function indexed(b: Parameters<NonNullable<CommandDef['evaluate']>>[0], list: string[]): string[] {
  const idx = b.tags.get('index')?.args[0];
  if (!idx || idx.kind !== 'number') return list;
  const v = list[idx.value - 1];
  return v === undefined ? [] : [v];
}

const testError: CommandDef = {
  name: 'test_error',
  kind: 'test',
  tags: [indexTag],
  families: ['comparator', 'match-type'],
  positional: [{ name: 'key list', type: 'stringlist' }],
  evaluate: (b, rt) => matchTest(b, rt, indexed(b, stateOf(rt).errors), rt.list(b.args[0]!)),
};

const testResultAction: CommandDef = {
  name: 'test_result_action',
  kind: 'test',
  tags: [indexTag],
  families: ['comparator', 'match-type'],
  positional: [{ name: 'key list', type: 'stringlist' }],
  evaluate: (b, rt) => matchTest(b, rt, indexed(b, currentResult(rt).actions.map((a) => a.type)), rt.list(b.args[0]!)),
};

const testResultReset: CommandDef = {
  name: 'test_result_reset',
  kind: 'command',
  execute(_b, rt) {
    const st = stateOf(rt);
    st.scriptResult = st.lastRun = null;
    st.sent = [];
    rt.result.reset();
    // Pigeonhole keeps imap4flags' internal variable in the result: it goes too.
    rt.state.delete('imap4flags');
  },
};

/** test_result_print: Pigeonhole prints the result for whoever reads the log; the runner's report says what failed. */
const testResultPrint: CommandDef = { name: 'test_result_print', kind: 'command', execute: () => undefined };

const testResultExecute: CommandDef = {
  name: 'test_result_execute',
  kind: 'test',
  evaluate(_b, rt) {
    const st = stateOf(rt);
    const owner = st.scriptResult?.runtime ?? rt;
    const keepFlags = (owner.state.get('imap4flags') as string[] | undefined) ?? [];
    const errors = executeResult(currentResult(rt), owner, st, keepFlags);
    st.errors = errors;
    return errors.length === 0;
  },
};

const testMessage: CommandDef = {
  name: 'test_message',
  kind: 'hybrid',
  tags: [{ name: 'smtp', group: 'source' }, { name: 'folder', group: 'source', args: [{ name: 'folder', type: 'string' }] }],
  positional: [{ name: 'index', type: 'number' }],
  validate(b, v) {
    if (!b.tags.has('smtp') && !b.tags.has('folder')) v.error(b.node.pos, 'test_message needs :smtp or :folder');
  },
  evaluate(b, rt) {
    const st = stateOf(rt);
    const n = b.args[0]!.kind === 'number' ? (b.args[0] as { value: number }).value : 0;
    const folder = b.tags.get('folder');
    if (folder) {
      // A stored message: its flags become what hasflag sees (RFC 5232 4).
      const m = st.stored.get(normalizeMailbox(rt.string(folder.args[0]!)))?.[n];
      if (!m) return false;
      rt.message = parseMessage(m.text);
      rt.forget();
      rt.state.set('imap4flags', [...m.flags]);
      return true;
    }
    const m = st.sent[n];
    if (!m) return false;
    rt.message = parseMessage(m.text);
    rt.forget();
    rt.envelope = { ...m.envelope, to: [...m.envelope.to] };
    return true;
  },
};

const testMailboxCreate: CommandDef = {
  name: 'test_mailbox_create',
  kind: 'command',
  positional: [{ name: 'mailbox', type: 'string' }],
  execute(b, rt) {
    stateOf(rt).mailboxes.add(normalizeMailbox(rt.string(b.args[0]!)));
  },
};

/** test_imap_metadata_set [:mailbox <mailbox>] <annotation> <value>: what the metadata tests then find. */
const testImapMetadataSet: CommandDef = {
  name: 'test_imap_metadata_set',
  kind: 'command',
  tags: [{ name: 'mailbox', args: [{ name: 'mailbox', type: 'string' }] }],
  positional: [
    { name: 'annotation', type: 'string' },
    { name: 'value', type: 'string' },
  ],
  execute(b, rt) {
    const box = b.tags.get('mailbox');
    const mailbox = box ? normalizeMailbox(rt.string(box.args[0]!)) : null;
    stateOf(rt).metadata.set(metadataKey(mailbox, rt.string(b.args[0]!)), rt.string(b.args[1]!));
  },
};

export function metadataKey(mailbox: string | null, name: string): string {
  return `${mailbox ?? ''}\0${name.toLowerCase()}`;
}

/**
 * test_binary_save/load: Pigeonhole saves and reloads its compiled binary.
 * Here the compiled script is the "binary": saving keeps it under a name,
 * loading makes it the script under test again.
 */
const testBinarySave: CommandDef = {
  name: 'test_binary_save',
  kind: 'command',
  positional: [{ name: 'binary name', type: 'string' }],
  execute(b, rt) {
    const st = stateOf(rt);
    const compiled = st.compiled;
    if (!compiled) return rt.fail('test_binary_save: no script compiled', b.node.pos);
    st.binaries.set(rt.string(b.args[0]!), compiled);
  },
};

const testBinaryLoad: CommandDef = {
  name: 'test_binary_load',
  kind: 'command',
  positional: [{ name: 'binary name', type: 'string' }],
  execute(b, rt) {
    const st = stateOf(rt);
    const name = rt.string(b.args[0]!);
    const bin = st.binaries.get(name);
    if (!bin) return rt.fail(`test_binary_load: no binary '${name}' saved`, b.node.pos);
    st.compiled = bin;
  },
};

/** test_config_set/unset/reload: change the settings the host reports (SieveHost.setting). */
const testConfigSet: CommandDef = {
  name: 'test_config_set',
  kind: 'command',
  positional: [
    { name: 'setting', type: 'string' },
    { name: 'value', type: 'string' },
  ],
  execute(b, rt) {
    stateOf(rt).config.set(rt.string(b.args[0]!), rt.string(b.args[1]!));
  },
};

const testConfigUnset: CommandDef = {
  name: 'test_config_unset',
  kind: 'command',
  positional: [{ name: 'setting', type: 'string' }],
  execute(b, rt) {
    stateOf(rt).config.delete(rt.string(b.args[0]!));
  },
};

/** Settings are read when used, so there is nothing to reload. */
const testConfigReload: CommandDef = {
  name: 'test_config_reload',
  kind: 'command',
  tags: [{ name: 'extension', args: [{ name: 'extension', type: 'string' }] }],
  execute: () => undefined,
};

export const testsuite: Extension = {
  capability: 'vnd.dovecot.testsuite',
  // "${tst.path}": the folder of the .svtest file, as Pigeonhole's testsuite gives it.
  namespaces: [{ name: 'tst', read: (rt, path) => (path.toLowerCase() === 'path' ? stateOf(rt).dir : '') }],
  commands: [testCommand, testFail, testSet, testScriptCompile, testScriptRun, testError, testResultAction, testResultReset, testResultPrint, testResultExecute, testMessage, testMailboxCreate, testImapMetadataSet, testConfigSet, testConfigUnset, testConfigReload, testBinarySave, testBinaryLoad, testMultiscript],
};
