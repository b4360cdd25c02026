/**
 * No merge-conflict markers in what people read or run: a conflict
 * resolved in a hurry once left three in docs/configuration.md.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const SKIP = new Set(['node_modules', 'dist', '.git']);

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (/\.(md|ts|json|ya?ml|conf|siv|sh)$/.test(name) || name === 'run') yield path;
  }
}

describe('the tree', () => {
  it('holds no merge-conflict markers', () => {
    const found: string[] = [];
    for (const f of [...files(join(root, 'docs')), ...files(join(root, 'src')), ...files(join(root, 'test')), ...files(join(root, 'examples')), join(root, 'README.md'), join(root, '.ci', 'run')]) {
      const lines = readFileSync(f, 'utf8').split('\n');
      lines.forEach((l, i) => {
        if (/^(<{7}|>{7}) |^={7}$/.test(l)) found.push(`${relative(root, f)}:${i + 1}`);
      });
    }
    expect(found).toEqual([]);
  });
});
