/**
 * Runs Pigeonhole-style `.svtest` files: compiles each with the
 * vnd.dovecot.testsuite extension available, runs it, and reports every
 * `test` block as passed or failed. A file that does not compile, or fails
 * outside a test block, is one failed test.
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { formatDiagnostic } from '../../diagnostics.js';
import { compileSieve } from '../compile.js';
import { ExtensionRegistry } from '../extension-registry.js';
import { extensions } from '../extensions/index.js';
import { execute } from '../interpreter.js';
import { parseMessage } from '../runtime/message.js';
import { normalizeMailbox } from '../runtime/result.js';
import { defaultRuntimeLimits } from '../runtime/limits.js';
import { Runtime } from '../runtime/runtime.js';
import { metadataKey, STATE, testsuite } from './extension.js';
import { suiteExternalLists } from './lists.js';
import { stalwartTestsuite } from './stalwart.js';
import { suiteScriptLoader, type TestOutcome, TestsuiteState } from './state.js';

/** Pigeonhole's testsuite starts with this message and envelope (testsuite-message.c). */
const DEFAULT_MESSAGE = 'From: sender@example.com\nTo: recipient@example.org\nSubject: Frop!\n\nFriep!\n';
const DEFAULT_ENVELOPE = { from: 'sender@example.com', to: ['recipient@example.com'], origTo: 'recipient@example.com' };

const TESTSUITE_ENVIRONMENT: Record<string, string> = {
  name: 'Pigeonhole Sieve',
  location: 'MS',
  domain: 'example.com',
  host: 'testsuite.example.com',
  // Pigeonhole's testsuite runs as the local user.
  'vnd.dovecot.username': userInfo().username,
};

let registry: ExtensionRegistry | undefined;
export function testsuiteRegistry(): ExtensionRegistry {
  return (registry ??= new ExtensionRegistry([...extensions, testsuite, stalwartTestsuite]));
}

export interface SvtestReport {
  file: string;
  outcomes: TestOutcome[];
}

export async function runSvtestFile(file: string): Promise<SvtestReport> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return { file, outcomes: [{ name: '(file)', passed: false, reason: `cannot read: ${(e as Error).message}` }] };
  }
  const load = suiteScriptLoader(dirname(file));
  const compiled = compileSieve(text, { file, registry: testsuiteRegistry(), loadScript: load });
  if (!compiled.script) {
    const first = compiled.diagnostics.find((d) => d.severity === 'error');
    return { file, outcomes: [{ name: '(compile)', passed: false, reason: first ? formatDiagnostic(first) : 'compile failed' }] };
  }
  const state = new TestsuiteState(dirname(file), testsuiteRegistry());
  // The suite's own script keeps Pigeonhole's action limits but may run long.
  const host = {
    mailboxExists: (name: string) => state.mailboxes.has(normalizeMailbox(name)),
    // The environment Pigeonhole's suite was written against (its testsuite
    // runs as a mail store); a server reports its own (RFC 5183 4).
    environment: (item: string) => TESTSUITE_ENVIRONMENT[item],
    setting: (name: string) => state.config.get(name),
    loadScript: load,
    externalList: suiteExternalLists(state.config).externalList,
    metadata: (mailbox: string | null, name: string) => state.metadata.get(metadataKey(mailbox, name)),
  };
  const rt = new Runtime({ message: parseMessage(DEFAULT_MESSAGE), envelope: { ...DEFAULT_ENVELOPE, to: [...DEFAULT_ENVELOPE.to] } }, host, { ...defaultRuntimeLimits, maxSteps: 10_000_000 }, compiled.script.variables);
  rt.state.set(STATE, state);
  const res = await execute(compiled.script, { message: rt.message, envelope: rt.envelope }, {}, { runtime: rt });
  const outcomes = [...state.outcomes];
  if (res.errors.length > 0) {
    const e = res.errors[0]!;
    const where = e.pos ? `${file}:${e.pos.line}:${e.pos.column}: ` : '';
    outcomes.push({ name: state.current ?? '(file)', passed: false, reason: `${where}${e.message}` });
  }
  return { file, outcomes };
}
