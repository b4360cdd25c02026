/**
 * Measures how much of Momentum's documented Sieve++ and configuration
 * examples smtp-cbv accepts: every script under ../shared/momentum-docs/scripts
 * is compiled (momentum dialect, the product's functions) and every
 * configuration under configs/ is loaded. Examples the vendor's own pages
 * mark as invalid (`# note: doc-invalid`) are counted apart, as are scripts
 * calling a Momentum feature smtp-cbv does not provide
 * (docs/momentum-compatibility.md), or a datasource driver it does not
 * have. Behaviour is checked by test/sievepp/momentum-docs*.test.ts: an
 * example counts as behaving as documented when that test runs it and it is
 * not listed in DEVIATIONS below (where a page's own comment and smtp-cbv
 * disagree). Run the tests for the behaviour count to mean anything.
 *
 *   npx tsx scripts/momentum-compat.ts [DIR] [--list]
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfigText } from '../src/config/index.js';
import { productFunctions } from '../src/policy/functions.js';
import { compileSieve } from '../src/sievepp/compile.js';
import { unavailableMessage } from '../src/sievepp/unavailable.js';

const args = process.argv.slice(2);
const dir = path.resolve(args.find((a) => !a.startsWith('--')) ?? '../shared/momentum-docs');
const list = args.includes('--list');

type Kind = 'ok' | 'error' | 'unsupported' | 'doc-invalid';

/** Datasource drivers and sources the examples name that smtp-cbv does not have. */
const MISSING_DRIVERS: RegExp[] = [];

/** Examples whose page comment smtp-cbv does not reproduce, and why (they are not counted as documented behaviour). */
const DEVIATIONS: Record<string, string> = {
  '005': 'the page expects "Make .. Money" to match a lower-case pattern, but its own Comparators section makes i;octet the default; and ec_action is terminal, so ec_disconnect after it never runs',
  '015': '".{,3}" is literal text in PCRE and RE2 alike: the pattern does not find "v1agra"',
  '068': 'the page writes the current time as "%{t}", which no Momentum page defines as a macro (a bare %{name} reads a context variable): smtp-cbv keeps it as written and ec_add refuses it; with %{spfv1:t} the page\'s checks hold',
  '113': 'the page says ec_round 65.43 is 66; C round() (and smtp-cbv) give 65',
  '111': 'a fragment: $from and $to are never set, so generate_mail_raw has no recipient',
};

/** The example files the documented-examples tests (test/sievepp/momentum-docs*.test.ts) run. */
function testedExamples(): Set<string> {
  const tests = path.resolve('test/sievepp');
  const text = readdirSync(tests).filter((f) => /^momentum-docs.*\.test\.ts$/.test(f)).map((f) => readFileSync(path.join(tests, f), 'utf8')).join('\n');
  return new Set([...text.matchAll(/'(\d{3})-[a-z0-9-]+\.siv'/g)].map((m) => m[1]!));
}
const tally = (rows: Array<{ kind: Kind }>) => rows.reduce((m, r) => m.set(r.kind, (m.get(r.kind) ?? 0) + 1), new Map<Kind, number>());

function scripts() {
  const rows: Array<{ file: string; kind: Kind; detail: string }> = [];
  const base = path.join(dir, 'scripts');
  for (const file of readdirSync(base).filter((f) => f.endsWith('.siv')).sort()) {
    const text = readFileSync(path.join(base, file), 'utf8');
    const r = compileSieve(text, { file, functions: productFunctions() });
    const first = r.diagnostics.find((d) => d.severity === 'error');
    const invalid = /^# note:.*doc-invalid/m.test(text);
    // A script calling any Momentum feature smtp-cbv does not provide is counted apart, whatever its first error.
    const code = text.replace(/^#.*$/gm, '');
    const lacking = [...new Set(code.match(/\b[a-z_][a-z0-9_]*\b/gi) ?? [])].find((w) => unavailableMessage(w, 'command')) ?? (MISSING_DRIVERS.find((re) => re.test(code)) ? 'a datasource driver smtp-cbv does not have' : undefined);
    const kind: Kind = invalid && first ? 'doc-invalid' : lacking ? 'unsupported' : !first ? 'ok' : 'error';
    rows.push({ file, kind, detail: lacking && kind === 'unsupported' ? `uses ${lacking}` : first ? `${first.line}:${first.column}: ${first.message}` : '' });
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
const scriptRows = scripts();
const tested = testedExamples();
const supported = scriptRows.filter((r) => r.kind === 'ok' || r.kind === 'error');
const documented = supported.filter((r) => r.kind === 'ok' && tested.has(r.file.slice(0, 3)) && !DEVIATIONS[r.file.slice(0, 3)]);
console.log(
  `behaviour: ${documented.length} of ${supported.length} scripts using supported features compile and behave as their page documents (${pct(documented.length, supported.length)})`,
);
if (list) {
  for (const r of supported) {
    const id = r.file.slice(0, 3);
    if (r.kind === 'ok' && !tested.has(id)) console.log(`  untested    ${r.file}`);
    if (DEVIATIONS[id]) console.log(`  deviation   ${r.file}  ${DEVIATIONS[id]}`);
  }
}
for (const [name, rows] of [
  ['scripts', scriptRows],
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
