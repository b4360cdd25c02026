/**
 * Sieve++ functions over large values and long lists, and the run's CPU
 * budget (docs/sieve-interpreter.md, "CPU budget and time slices"): a
 * function's work is charged, so a run past its budget stops at the call
 * that passed it; a function whose value is only ever assigned makes only
 * what the variable keeps; ec_pcre_match over a large value runs in a
 * worker; lists of many header fields or MIME parts are made in slices.
 *
 * No assertion depends on the machine's speed: a budget of 0 ms is spent
 * by any work at all, so a run ends with its error exactly when the clock
 * is read; slices are counted on a clock that moves only when read.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { execute, executeAsync, type ExecutionResult } from '../../src/sieve/interpreter.js';
import { matchPool, OFFLOAD_CHARS } from '../../src/sieve/match/match-pool.js';
import { lazyMessage, parseMessage } from '../../src/sieve/runtime/message.js';
import { CidrTables } from '../../src/sievepp/cidr.js';
import type { Datasource } from '../../src/sievepp/datasource.js';
import type { MomentumHost } from '../../src/sievepp/host.js';
import { getValue } from '../../src/sievepp/values.js';
import { compiledPP } from './helpers.js';

const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };
const MESSAGE = 'From: joe@example.com\r\nSubject: hi\r\n\r\nbody\r\n';
const big = 'a banana and a papaya are a snack, said Anna \u20ac\r\n'.repeat(20_000);

function run(script: string, maxCpuMs: number, o: { message?: string; sliced?: boolean; host?: MomentumHost } = {}): Promise<ExecutionResult> | ExecutionResult {
  const input = { message: parseMessage(o.message ?? MESSAGE), envelope, phase: 'data', messageContext: new Map([['big', big]]) };
  const options = { limits: { maxCpuMs, maxSteps: 1e9 } };
  return o.sliced ? executeAsync(compiledPP(script), input, o.host ?? {}, options) : execute(compiledPP(script), input, o.host ?? {}, options);
}

const SPENT = 'execution exceeded the CPU time limit of 0 ms';

describe('a function\'s work is charged to the budget', () => {
  // Each is one step or two: without its work charged, the clock is not read before the run ends.
  it.each([
    ['ec_rfc2047_encode_header', '$y = ec_rfc2047_encode_header "%{vctx_mess:big}";'],
    ['ec_pcre_match', '$y = ec_pcre_match "%{vctx_mess:big}" "(x|y)+z";'],
    ['qp_encode', '$y = qp_encode "%{vctx_mess:big}";'],
    ['reverse', '$y = reverse "%{vctx_mess:big}";'],
    ['split', '$y = split " " "%{vctx_mess:big}";'],
    ['vctx_mess_set', 'vctx_mess_set "copy" "%{vctx_mess:big}";'],
  ])('%s over a large value stops a run whose budget is spent', async (_name, call) => {
    const r = await run(call, 0);
    expect(r.errors.map((e) => e.message)).toEqual([SPENT]);
    expect(r.errors[0]?.pos?.line).toBe(1);
  });

  it('leaves short calls to the steps\' own charges', async () => {
    const r = await run('$y = qp_encode "caf\u00e9"; $z = reverse "abc";', 0);
    expect(r.errors).toEqual([]);
    expect(getValue(r.runtime, 'y')).toBe('caf=C3=A9');
  });
});

describe('ec_error_mode "continue" (sieve-ref-ec-error-mode.md)', () => {
  it('does not let a run go on past its CPU budget', async () => {
    const r = await run('ec_error_mode "continue"; $y = qp_encode "%{vctx_mess:big}"; ec_action 250 "went on";', 0);
    expect(r.errors.map((e) => e.message)).toEqual([SPENT]);
    expect(r.actions).toEqual([]);
  });
});

describe('ec_pcre_match over a large value', () => {
  it('is matched in a worker in a time-sliced run, with the groups the event loop gives', async () => {
    const message = `From: joe@example.com\r\nX-Big: ${'Anna and a banana '.repeat(OFFLOAD_CHARS / 16)}time for a snack\r\n\r\nbody\r\n`;
    const script = 'require "variables"; if header :matches "X-Big" "*" { $m = ec_pcre_match "${1}" "(b[an]+a) .*(sn(a)ck)"; }';
    const inline = await run(script, 60_000, { message });
    const before = matchPool.answers;
    const sliced = await run(script, 60_000, { message, sliced: true });
    expect(matchPool.answers).toBeGreaterThan(before);
    expect(sliced.errors).toEqual([]);
    // Leftmost-first, as Perl: the first "banana", and every group.
    expect(getValue(sliced.runtime, 'm')).toEqual(getValue(inline.runtime, 'm'));
    expect((getValue(sliced.runtime, 'm') as string[]).slice(1)).toEqual(['banana', 'snack', 'a']);
  });

  it('still refuses a pattern that does not compile, with a runtime error', async () => {
    const r = await run('$m = ec_pcre_match "abc" "(a";', 60_000);
    expect(r.errors[0]?.message).toMatch(/^ec_pcre_match: invalid regular expression '\(a'/);
  });
});

describe('long lists are made in slices', () => {
  let now: ReturnType<typeof vi.spyOn> | undefined;
  afterEach(() => now?.mockRestore());

  /** A clock that moves 1 ms at every read: a time-sliced run's slice is over at each read of the clock. */
  function tickingClock(): void {
    let clock = 0;
    now = vi.spyOn(performance, 'now').mockImplementation(() => (clock += 1));
  }

  it('ec_header_get over 20,000 fields lets the event loop go and gives every value', async () => {
    const message = `From: joe@example.com\r\n${'X-A: =?utf-8?q?caf=C3=A9?= au lait\r\n'.repeat(20_000)}\r\nbody\r\n`;
    tickingClock();
    const r = await run('$y = ec_header_get "X-A";', 1e12, { message, sliced: true });
    expect(r.errors).toEqual([]);
    expect(r.runtime.budget.slices).toBeGreaterThan(10);
    const y = getValue(r.runtime, 'y') as string[];
    expect(y).toHaveLength(20_000);
    expect(y[19_999]).toBe('caf\u00e9 au lait');
  });

  it('ec_mime_parts over 20,000 parts lets the event loop go and finds the last file name', async () => {
    const part = (name: string) => `--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=${name}\r\n\r\nhello\r\n`;
    const message = `From: joe@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${part('a.txt').repeat(19_999)}${part('last.exe')}--b--\r\n`;
    tickingClock();
    // ec_valid_mime reads the same part tree (in slices) and walks it at once: what reading the tree yields.
    const tree = await run('if ec_valid_mime { $valid = "yes"; }', 1e12, { message, sliced: true });
    const r = await run('if ec_mime_parts :matches "filename" "*.exe" { $found = "yes"; }', 1e12, { message, sliced: true });
    expect(r.errors).toEqual([]);
    expect(getValue(tree.runtime, 'valid')).toBe('yes');
    expect(getValue(r.runtime, 'found')).toBe('yes');
    expect(r.runtime.budget.slices).toBeGreaterThan(tree.runtime.budget.slices + 10);
  });

  it('ds_fetch_flat over 20,000 rows (a CSV file with max_rows = -1) lets the event loop go and gives every value in order', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ 1: `10.0.${i >> 8}.${i & 255}`, 2: `listed ${i}` }));
    const table: Datasource = { query: () => rows };
    tickingClock();
    const r = await run('$all = ds_fetch_flat "table" "all.csv";', 1e12, { sliced: true, host: { datasources: new Map([['table', table]]) } });
    expect(r.errors).toEqual([]);
    expect(r.runtime.budget.slices).toBeGreaterThan(10);
    const all = getValue(r.runtime, 'all') as string[];
    expect(all).toHaveLength(40_000);
    expect(all.slice(-4)).toEqual(['10.0.78.30', 'listed 19998', '10.0.78.31', 'listed 19999']);
  });

  it('define_cidr over 20,000 rows lets the event loop go, and query_cidr finds the last block', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ 1: `10.${i >> 8}.${i & 255}.0/24`, 2: `127.0.0.${i % 250}` }));
    const host: MomentumHost = { datasources: new Map([['blocks', { query: () => rows }]]), cidr: new CidrTables() };
    tickingClock();
    const script = '$def = hash_create; hash_set $def "cidrname" "big"; hash_set $def "cachename" "blocks"; hash_set $def "query" "all.csv"; hash_set $def "type" "value"; define_cidr $def; $v = query_cidr :ip "10.78.31.9" "big";';
    const r = await run(script, 1e12, { sliced: true, host });
    expect(r.errors).toEqual([]);
    expect(r.runtime.budget.slices).toBeGreaterThan(10);
    expect(getValue(r.runtime, 'v')).toBe(`127.0.0.${19_999 % 250}`);
  });
});

describe('define_cidr at every run (as sieve-ref-cidrdb.md\'s example has it)', () => {
  /** Rows whose block column counts its reads: a table parsed again reads every block again. */
  function countedRows(n: number, value: string) {
    const reads = { count: 0 };
    const rows = Array.from({ length: n }, (_, i) => {
      const row: Record<string, string> = {};
      Object.defineProperty(row, '1', { enumerable: true, get: () => (reads.count++, `10.${i >> 8}.${i & 255}.0/24`) });
      row['2'] = `${value} ${i}`;
      return row;
    });
    return { rows, reads };
  }
  const script = 'define_cidr $def; $v = query_cidr :ip "10.1.2.3" "t";';
  const withDefinition = '$def = hash_create; hash_set $def "cidrname" "t"; hash_set $def "cachename" "ds"; hash_set $def "query" "q"; hash_set $def "type" "value"; ';

  it('keeps the table and its index while the datasource gives the same rows, and makes them again from new rows', async () => {
    const first = countedRows(1000, 'old');
    let current = first.rows;
    const host: MomentumHost = { datasources: new Map([['ds', { query: () => current } satisfies Datasource]]), cidr: new CidrTables() };
    const value = async () => {
      const r = await run(withDefinition + script, 1e12, { sliced: true, host });
      expect(r.errors).toEqual([]);
      return getValue(r.runtime, 'v');
    };
    expect(await value()).toBe('old 258');
    const table = host.cidr!.get('t');
    const reads = first.reads.count;
    expect(reads).toBeGreaterThanOrEqual(1000);
    // The next runs: the same rows (a cached result), no block read again, the same table.
    expect(await value()).toBe('old 258');
    expect(await value()).toBe('old 258');
    expect(first.reads.count).toBe(reads);
    expect(host.cidr!.get('t')).toBe(table);
    // Other rows (a new version of the file, a result past its cache_life): a new table.
    const second = countedRows(300, 'new');
    current = second.rows;
    expect(await value()).toBe('new 258');
    expect(second.reads.count).toBeGreaterThanOrEqual(300);
    expect(host.cidr!.get('t')).not.toBe(table);
  });

  it('makes the table again for reload_cidr, and for another definition of the same name', async () => {
    const { rows, reads } = countedRows(10, 'x');
    const host: MomentumHost = { datasources: new Map([['ds', { query: () => rows } satisfies Datasource]]), cidr: new CidrTables() };
    await run(withDefinition + script, 1e12, { sliced: true, host });
    const once = reads.count;
    await run(withDefinition + 'define_cidr $def; reload_cidr "t";', 1e12, { sliced: true, host });
    expect(reads.count).toBe(2 * once);
    const r = await run(withDefinition + 'hash_set $def "default_value" "none"; define_cidr $def; $v = query_cidr :ip "192.0.2.1" "t";', 1e12, { sliced: true, host });
    expect(reads.count).toBe(3 * once);
    expect(getValue(r.runtime, 'v')).toBe('none');
  });
});

describe('ec_get_message_size', () => {
  it('gives the size the host knows, without reading a message kept on disk', async () => {
    const head = 'From: joe@example.com\r\nSubject: big\r\n\r\n';
    const whole = `${head}${'caf\u00e9 au lait\r\n'.repeat(1000)}`;
    let reads = 0;
    const message = lazyMessage(head, Buffer.byteLength(whole), () => (reads++, whole));
    const r = await execute(compiledPP('$s = ec_get_message_size;'), { message, envelope, phase: 'data' }, {}, {});
    expect(r.errors).toEqual([]);
    expect(getValue(r.runtime, 's')).toBe(String(Buffer.byteLength(whole)));
    expect(reads).toBe(0);
  });
});
