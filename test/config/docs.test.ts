/**
 * docs/configuration.md and the schema must agree: every option appears in
 * its scope's table with the schema's default, and the tables name no option
 * the schema lacks.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allScopes, rootScope, type ScopeSpec } from '../../src/config/schema.js';

const doc = fs.readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

/** The text of a `## ` section, up to the next one. */
function section(scope: ScopeSpec): string {
  const heading = scope === rootScope ? '## Top level' : `## \`${scope.name}\``;
  const start = doc.indexOf(`\n${heading}\n`);
  expect(start, `section ${heading}`).toBeGreaterThanOrEqual(0);
  const next = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, next < 0 ? undefined : next);
}

/** Option rows of a section's table: name -> the type and default cells. */
function rows(text: string): Map<string, { type: string; def: string }> {
  const out = new Map<string, { type: string; def: string }>();
  for (const line of text.split('\n')) {
    const m = /^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \|/.exec(line);
    if (m) out.set(m[1]!, { type: m[2]!.trim(), def: m[3]!.trim() });
  }
  return out;
}

const documented = (def: string | null) => (def === null ? '*(none)*' : `\`${def}\``);

describe('docs/configuration.md', () => {
  for (const scope of allScopes) {
    if (scope.inheritsOptionsFrom) {
      it(`${scope.name} says whose options it takes and lists none of its own`, () => {
        const text = section(scope);
        expect(text).toContain(`Same options as \`${scope.inheritsOptionsFrom}\``);
        expect(rows(text).size).toBe(0);
      });
      continue;
    }
    it(`documents every ${scope.name} option with its type and default, and no other`, () => {
      const table = rows(section(scope));
      for (const o of scope.options) {
        expect(table.has(o.name), `${scope.name}: ${o.name} is not documented`).toBe(true);
        expect(table.get(o.name)?.def, `${scope.name}: default of ${o.name}`).toBe(documented(o.default));
        expect(table.get(o.name)?.type, `${scope.name}: type of ${o.name}`).toBe(o.type.label);
      }
      const known = new Set(scope.options.map((o) => o.name));
      for (const name of table.keys()) expect(known.has(name), `${scope.name}: ${name} is documented but not in the schema`).toBe(true);
    });
  }

  it('has a section for every scope and no section for a scope the schema lacks', () => {
    const headings = [...doc.matchAll(/^## `([^`]+)`$/gm)].map((m) => m[1]);
    expect(new Set(headings)).toEqual(new Set(allScopes.filter((s) => s !== rootScope).map((s) => s.name)));
  });
});
