/**
 * Whatever the input, the loader answers with a config or with positioned
 * errors: never an exception, never a hang.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEcconf } from '../../grammars/ecconf.js';
import { parseConfigText } from '../../src/config/index.js';

/** Text made of the pieces the grammar cares about, so that inputs get deep into the parser rather than failing at the first character. */
const piece = fc.constantFrom(
  '{', '}', '(', ')', '[', ']', '=', '"', "'", '#', '/*', '*/', '\n', ' ', '\\',
  'include', 'readonly_include', 'smtp_cbv', 'sieve', 'script', 'ESMTP_Listener', 'Listen', 'Peer', 'Validate', 'validate/sieve',
  'port', 'phase', 'map', 'source', 'Context', 'mailfrom_phase1', '"mailfrom"', '25', '0666', '10.0.0.0/8', '":25"', 'true', 'x',
  // Names that an object used as a dictionary would find on its prototype.
  'constructor', '__proto__', 'toString', 'Debug_Level', 'validate/constructor',
);
const structured = fc.array(piece, { maxLength: 200 }).map((a) => a.join(' '));
const anyText = fc.oneof(structured, fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }));

// Generated text may well say `include .`: give it an empty directory to include from, not the repository.
const sandbox = fs.mkdtempSync(path.join(os.tmpdir(), 'smtp-cbv-fuzz-'));
const FILE = path.join(sandbox, 'fuzz.conf');
afterAll(() => fs.rmSync(sandbox, { recursive: true, force: true }));

function wellFormed(result: ReturnType<typeof parseConfigText>): void {
  if (result.config === null) expect(result.diagnostics.some((d) => d.severity === 'error')).toBe(true);
  for (const d of result.diagnostics) {
    expect(d.line).toBeGreaterThanOrEqual(1);
    expect(d.column).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(d.offset)).toBe(true);
    expect(d.message.length).toBeGreaterThan(0);
    expect(d.file).toBe(FILE);
    // The loader turns its own exceptions into this diagnostic; seeing it means a bug was hit.
    expect(d.message).not.toMatch(/^internal error/);
  }
}

describe('config loader: any input', () => {
  it('yields a config or positioned errors, never an exception, in bounded time', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const started = performance.now();
        const result = parseConfigText(text, FILE);
        expect(performance.now() - started).toBeLessThan(1000);
        wellFormed(result);
        // Diagnostics never point past the end of the text.
        for (const d of result.diagnostics) expect(d.offset).toBeLessThanOrEqual(text.length);
      }),
      { numRuns: 400 },
    );
  });

  it('every syntax error of the grammar lies within the text', () => {
    fc.assert(
      fc.property(structured, (text) => {
        const { errors } = parseEcconf(text);
        for (const e of errors) expect(e.pos.offset).toBeLessThanOrEqual(text.length);
      }),
      { numRuns: 300 },
    );
  });

  it('handles deep nesting of every bracket kind', () => {
    fc.assert(
      fc.property(fc.constantFrom('a {', '(', '[', 'a = (', 'x = ['), fc.integer({ min: 1, max: 20_000 }), (open, depth) => {
        wellFormed(parseConfigText(open.repeat(depth), FILE));
      }),
      { numRuns: 30 },
    );
  });
});
