/**
 * What the `vnd.dovecot.testsuite` commands share during one .svtest file:
 * the test outcomes, the script under test (test_script_compile/run), its
 * errors (test_error), the mailboxes that exist, and the messages the
 * executed result would have sent (test_message :smtp).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompiledScript } from '../compile.js';
import type { ExecutionResult } from '../interpreter.js';
import type { Envelope } from '../runtime/host.js';
import type { ExtensionRegistry } from '../extension-registry.js';

export interface TestOutcome {
  name: string;
  passed: boolean;
  reason?: string;
}

export interface SentMessage {
  envelope: Envelope;
  text: string;
}

export class TestsuiteState {
  readonly outcomes: TestOutcome[] = [];
  /** The name of the test running, or null between tests. */
  current: string | null = null;
  compiled: CompiledScript | null = null;
  /** Errors of the last compile, run or result execution, as test_error reads them. */
  errors: string[] = [];
  /** The result test_script_run produced; null means "the testsuite script's own result". */
  scriptResult: ExecutionResult | null = null;
  /** The result of the last test_script_run, which test_script_run :append_result adds to. */
  lastRun: ExecutionResult | null = null;
  readonly mailboxes = new Set<string>(['INBOX']);
  /** Annotations test_imap_metadata_set made (RFC 5464), by mailbox ("" for the server) and entry name. */
  readonly metadata = new Map<string, string>();
  /** Compiled scripts test_binary_save kept by name (our compiled form stands for Pigeonhole's binary). */
  readonly binaries = new Map<string, CompiledScript>();
  /** Settings test_config_set changed; the runner's host answers setting() from here. */
  readonly config = new Map<string, string>();
  sent: SentMessage[] = [];
  /** Messages stored by executed results, per mailbox, with their flags (test_message :folder). */
  readonly stored = new Map<string, Array<{ text: string; flags: string[] }>>();
  /**
   * Folder of the .svtest file (test_script_compile paths are relative to
   * it), and the registry the suite runs with: scripts it compiles may use
   * the testsuite commands too, as in Pigeonhole.
   */
  constructor(
    readonly dir: string,
    readonly registry: ExtensionRegistry,
  ) {}
}

/**
 * Where Pigeonhole's suite keeps scripts for include: personal ones in
 * included/, global ones in included-global/, beside the .svtest file;
 * or, when test_config_set chose Dovecot's "dict" script driver for a
 * location, in the dict file it names (alternating key and value lines:
 * priv/sieve/name/NAME -> id, priv/sieve/data/ID -> script).
 */
export function suiteScriptLoader(dir: string, config?: ReadonlyMap<string, string>): (name: string, location: 'personal' | 'global') => string | null {
  return (name, location) => {
    const storage = location === 'global' ? 'included-global' : 'included';
    try {
      const prefix = `sieve_script/${storage}`;
      if (config?.get(`${prefix}/sieve_script_driver`) === 'dict') {
        const path = config.get(`${prefix}/sieve_script_dict/dict/file/path`);
        return path ? fromDict(readFileSync(path, 'utf8'), name) : null;
      }
      return readFileSync(join(dir, storage, `${name}.sieve`), 'utf8');
    } catch {
      return null;
    }
  };
}

/** A Dovecot "file" dict: alternating key and value lines. */
export function parseDict(text: string): Map<string, string> {
  const lines = text.split(/\r?\n/);
  const entries = new Map<string, string>();
  for (let i = 0; i + 1 < lines.length; i += 2) entries.set(lines[i]!, lines[i + 1]!);
  return entries;
}

function fromDict(text: string, name: string): string | null {
  const entries = parseDict(text);
  const id = entries.get(`priv/sieve/name/${name}`);
  return id === undefined ? null : (entries.get(`priv/sieve/data/${id}`) ?? null);
}

/** test_fail: ends the current test (Pigeonhole jumps to the end of the test block). */
export class TestFailure {
  constructor(readonly reason: string) {}
}
