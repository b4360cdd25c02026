/**
 * Reads a configuration file and everything it includes into one tree of
 * statements, each stamped with its origin.
 *
 * `include` and `readonly_include` take a path relative to the including
 * file; a directory includes its files in lexical order, skipping dot-files
 * and subdirectories. `readonly_include` marks files Momentum's web console
 * may not edit; here it loads exactly like `include`. Cycles, runaway include
 * depth and include fan-out are errors, never a hang.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ConfScope, ConfStatement, ConfOption } from '../../grammars/ecconf.js';
import { parseEcconf } from '../../grammars/ecconf.js';
import type { Diagnostic, Position } from '../diagnostics.js';
import { type Origin, START, diagnosticAt } from './origin.js';

export interface XOption extends ConfOption {
  origin: Origin;
}
export interface XScope extends Omit<ConfScope, 'body'> {
  body: XStatement[];
  origin: Origin;
}
export type XStatement = XOption | XScope;

/** A configuration file larger than this is refused (real ones are a few KiB). */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Includes nested deeper than this are refused. */
export const MAX_INCLUDE_DEPTH = 16;
/** At most this many files per load: include diamonds would otherwise multiply. */
export const MAX_FILES = 256;
/** At most this many bytes per load, all files together (`include "/usr/lib"` must not read for minutes). */
export const MAX_TOTAL_BYTES = 4 * 1024 * 1024;

/** On failure, why: the caller says what it was doing ("cannot read", "cannot include"). */
export type ReadResult = { ok: true; text: string } | { ok: false; reason: string };

/** Reads a file as configuration text, refusing directories, huge and binary files with a reason. */
export function readConfigText(file: string): ReadResult {
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) return { ok: false, reason: 'it is a directory, not a configuration file' };
    // A device or a pipe (/dev/zero, a FIFO) would never end or never answer: only regular files are read.
    if (!st.isFile()) return { ok: false, reason: 'it is not a regular file' };
    if (st.size > MAX_FILE_BYTES) return { ok: false, reason: `it is larger than ${MAX_FILE_BYTES} bytes` };
    const bytes = fs.readFileSync(file);
    if (bytes.includes(0)) return { ok: false, reason: 'it is a binary file, not configuration text' };
    // Editors on some systems start UTF-8 files with a byte order mark; it is not part of the first name.
    const text = bytes.toString('utf8');
    return { ok: true, text: text.startsWith('\uFEFF') ? text.slice(1) : text };
  } catch (e) {
    return { ok: false, reason: describeError(e) };
  }
}

function describeError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return e instanceof Error ? e.message : String(e);
}

function identity(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

interface LoadState {
  diagnostics: Diagnostic[];
  files: number;
  bytes: number;
}

/** Parses `text` (the contents of `file`) and expands its includes. */
export function expandText(text: string, file: string): { statements: XStatement[]; diagnostics: Diagnostic[] } {
  const state: LoadState = { diagnostics: [], files: 1, bytes: text.length };
  const statements = expand(text, { file, includedFrom: [] }, [identity(file)], state);
  return { statements, diagnostics: state.diagnostics };
}

function expand(text: string, origin: Origin, stack: string[], state: LoadState): XStatement[] {
  const parsed = parseEcconf(text);
  for (const e of parsed.errors) state.diagnostics.push(diagnosticAt(origin, e.pos, e.message));
  return convert(parsed.statements, origin, stack, state);
}

function convert(statements: ConfStatement[], origin: Origin, stack: string[], state: LoadState): XStatement[] {
  const out: XStatement[] = [];
  for (const s of statements) {
    if (s.kind === 'option') out.push({ ...s, origin });
    else if (s.kind === 'scope') out.push({ ...s, body: convert(s.body, origin, stack, state), origin });
    else out.push(...include(s.path.text, s.pos, origin, stack, state));
  }
  return out;
}

function include(target: string, pos: Position, origin: Origin, stack: string[], state: LoadState): XStatement[] {
  const fail = (message: string): XStatement[] => {
    state.diagnostics.push(diagnosticAt(origin, pos, message));
    return [];
  };
  if (target === '') return fail('include needs a path');
  const resolved = path.isAbsolute(target) ? target : path.join(path.dirname(origin.file), target);
  let files: string[];
  try {
    if (fs.statSync(resolved).isDirectory()) {
      files = fs
        .readdirSync(resolved, { withFileTypes: true })
        .filter((d) => !d.name.startsWith('.') && (d.isFile() || d.isSymbolicLink()))
        .map((d) => d.name)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        .map((name) => path.join(resolved, name));
    } else files = [resolved];
  } catch (e) {
    return fail(`cannot include '${target}': ${describeError(e)}`);
  }
  const site = { file: origin.file, line: pos.line, column: pos.column };
  const out: XStatement[] = [];
  for (const file of files) {
    const id = identity(file);
    if (stack.includes(id)) {
      const loop = [...stack.slice(stack.indexOf(id)), id].map((f) => path.basename(f)).join(' -> ');
      fail(`include cycle: ${loop}`);
      continue;
    }
    if (stack.length >= MAX_INCLUDE_DEPTH) return fail(`includes nested deeper than ${MAX_INCLUDE_DEPTH} levels`);
    if (state.files >= MAX_FILES) return fail(`more than ${MAX_FILES} files included`);
    state.files++;
    const read = readConfigText(file);
    const inner: Origin = { file, includedFrom: [...origin.includedFrom, site] };
    if (!read.ok) {
      // Name the file as the author would: the include's own path, plus the entry for a directory.
      fail(`cannot include '${file === resolved ? target : path.join(target, path.basename(file))}': ${read.reason}`);
      continue;
    }
    state.bytes += read.text.length;
    if (state.bytes > MAX_TOTAL_BYTES) return fail(`more than ${MAX_TOTAL_BYTES} bytes of configuration included`);
    out.push(...expand(read.text, inner, [...stack, id], state));
  }
  return out;
}

/** Reads and expands the top file; an unreadable top file is one diagnostic at 1:1. */
export function expandFile(file: string): { statements: XStatement[]; diagnostics: Diagnostic[] } {
  const read = readConfigText(file);
  if (!read.ok) return { statements: [], diagnostics: [diagnosticAt({ file, includedFrom: [] }, START, `cannot read '${file}': ${read.reason}`)] };
  return expandText(read.text, file);
}
