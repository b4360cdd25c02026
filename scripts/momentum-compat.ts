/**
 * Measures how much of Momentum's documented Sieve++ and configuration
 * examples smtp-cbv accepts: every script under ../shared/momentum-docs/scripts
 * is compiled (momentum dialect, the product's functions) and every
 * configuration under configs/ is loaded. Examples the vendor's own pages
 * mark as invalid (`# note: doc-invalid`) are counted apart, as are scripts
 * calling a Momentum feature smtp-cbv does not provide
 * (docs/momentum-compatibility.md). Behaviour is checked by the tests in
 * test/sievepp/momentum-docs.test.ts; this script counts what compiles/loads.
 *
 *   npx tsx scripts/momentum-compat.ts [DIR] [--list]
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfigText } from '../src/config/index.js';
import { productFunctions } from '../src/policy/functions.js';
import { compileSieve } from '../src/sievepp/compile.js';

const args = process.argv.slice(2);
const dir = path.resolve(args.find((a) => !a.startsWith('--')) ?? '../shared/momentum-docs');
const list = args.includes('--list');

type Kind = 'ok' | 'error' | 'unsupported' | 'doc-invalid';
const tally = (rows: Array<{ kind: Kind }>) => rows.reduce((m, r) => m.set(r.kind, (m.get(r.kind) ?? 0) + 1), new Map<Kind, number>());

function scripts() {
  const rows: Array<{ file: string; kind: Kind; detail: string }> = [];
  const base = path.join(dir, 'scripts');
  for (const file of readdirSync(base).filter((f) => f.endsWith('.siv')).sort()) {
    const text = readFileSync(path.join(base, file), 'utf8');
    const r = compileSieve(text, { file, functions: productFunctions() });
    const first = r.diagnostics.find((d) => d.severity === 'error');
    const invalid = /^# note:.*doc-invalid/m.test(text);
    const kind: Kind = !first ? 'ok' : invalid ? 'doc-invalid' : / that smtp-cbv does not provide/.test(first.message) ? 'unsupported' : 'error';
    rows.push({ file, kind, detail: first ? `${first.line}:${first.column}: ${first.message}` : '' });
  }
  return rows;
}

function configs() {
  const rows: Array<{ file: string; kind: Kind; detail: string }> = [];
  const base = path.join(dir, 'configs');
  for (const file of readdirSync(base).filter((f) => f.endsWith('.conf')).sort()) {
    const text = readFileSync(path.join(base, file), 'utf8');
    const r = parseConfigText(text, path.join(base, file));
    const first = r.diagnostics.find((d) => d.severity === 'error');
    const invalid = /^# note:.*doc-invalid/m.test(text);
    rows.push({ file, kind: !first ? 'ok' : invalid ? 'doc-invalid' : 'error', detail: first ? `${first.line}:${first.column}: ${first.message}` : '' });
  }
  return rows;
}

const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : 'n/a');
for (const [name, rows] of [
  ['scripts', scripts()],
  ['configs', configs()],
] as const) {
  const t = tally(rows);
  const ok = t.get('ok') ?? 0;
  const relevant = ok + (t.get('error') ?? 0);
  console.log(
    `${name}: ${rows.length} examples; ${ok} accepted, ${t.get('error') ?? 0} refused, ${t.get('unsupported') ?? 0} use features smtp-cbv does not provide, ${t.get('doc-invalid') ?? 0} invalid as printed` +
      `; accepted among those using supported features: ${pct(ok, relevant)}`,
  );
  if (list) for (const r of rows) if (r.kind !== 'ok') console.log(`  ${r.kind.padEnd(11)} ${r.file}  ${r.detail}`);
}
