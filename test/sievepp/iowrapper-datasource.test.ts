/**
 * The iowrapper: datasource driver (src/sievepp/datasources/iowrapper.ts):
 * a file read whole as one row of one column, on its own and behind a
 * configuration's Datasource scope, as ds_fetch and ec_include use it.
 */
import { isUtf8 } from 'node:buffer';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { createMomentumServices } from '../../src/policy/momentum-services.js';
import { productFunctions } from '../../src/policy/functions.js';
import { CachedDatasource, DEFAULT_CACHE } from '../../src/sievepp/datasource.js';
import { openDatasource } from '../../src/sievepp/datasources/index.js';
import { IoWrapperDatasource } from '../../src/sievepp/datasources/iowrapper.js';
import { getValue } from '../../src/sievepp/values.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';
import { turnCounter } from '../helpers/turn-counter.js';
import { runPP } from './helpers.js';

const dir = tempDirPerTest('iowrapper-');
const open = (uri: string, options = {}) => openDatasource(uri, dir(), options) as IoWrapperDatasource;

describe('the iowrapper: datasource', () => {
  it('gives the whole file as one row of one column, value, from a path, a relative path or a file: URL', async () => {
    const text = 'first line\nsecond: with ? and $ in it\n\nlast, no newline';
    writeFileSync(join(dir(), 'motd.txt'), text);
    const ds = open('iowrapper:');
    expect(await ds.query(join(dir(), 'motd.txt'), {})).toEqual([{ value: text }]);
    expect(await ds.query('motd.txt', {})).toEqual([{ value: text }]);
    expect(await ds.query(pathToFileURL(join(dir(), 'motd.txt')).href, {})).toEqual([{ value: text }]);
    expect(await ds.query('motd.txt', {}, 0)).toEqual([]);
    writeFileSync(join(dir(), 'empty'), '');
    expect(await ds.query('empty', {})).toEqual([{ value: '' }]);
  });

  it('fills $name parameters from the hash, reads the uri\'s file when the query names none, and refuses ? parameters', async () => {
    writeFileSync(join(dir(), 'example.org.txt'), 'listed');
    expect(await open('iowrapper:').query('$domain.txt', { domain: 'example.org' })).toEqual([{ value: 'listed' }]);
    expect(await open('iowrapper:example.org.txt').query('', {})).toEqual([{ value: 'listed' }]);
    await expect(open('iowrapper:').query('', {})).rejects.toThrow(/names no file/);
    await expect(open('iowrapper:').query('$domain.txt', {})).rejects.toThrow(/\$domain/);
    await expect(open('iowrapper:').query('x.txt', ['a'])).rejects.toThrow(/\$name/);
  });

  it('refuses a $name value that would climb out of the directory the query names', async () => {
    await expect(open('iowrapper:').query('lists/$local', { local: '../../etc/passwd' })).rejects.toThrow(/"\.\." segment/);
    await expect(open('iowrapper:').query('lists/$local', { local: 'a\0b' })).rejects.toThrow(/NUL/);
  });

  it('a missing file, a directory or another scheme is a datasource error that names it', async () => {
    await expect(open('iowrapper:').query('nowhere.txt', {})).rejects.toThrow(`iowrapper: ${join(dir(), 'nowhere.txt')}: no such file`);
    await expect(open('iowrapper:').query('.', {})).rejects.toThrow(/a directory, not a file/);
    await expect(open('iowrapper:').query('http://example.test/list', {})).rejects.toThrow(/reads files only .*http: is not provided/);
  });

  it('reads text as the csv: driver does: UTF-8 when the whole file is, else ISO-8859-1, or assume_charset', async () => {
    writeFileSync(join(dir(), 'u'), 'Grüße');
    writeFileSync(join(dir(), 'l'), Buffer.from('Gr\xfc\xdfe', 'latin1'));
    expect(await open('iowrapper:').query('u', {})).toEqual([{ value: 'Grüße' }]);
    expect(await open('iowrapper:').query('l', {})).toEqual([{ value: 'Grüße' }]);
    expect(await open('iowrapper:', { assumeCharset: 'windows-1252' }).query('l', {})).toEqual([{ value: 'Grüße' }]);
    // A byte order mark is text of the file, as Buffer's UTF-8 reading (the csv: driver's) keeps it.
    writeFileSync(join(dir(), 'bom'), '\ufeffGrüße');
    expect(await open('iowrapper:').query('bom', {})).toEqual([{ value: '\ufeffGrüße' }]);
  });

  it('behind the result cache, a file changed in place or replaced by rename is seen at the next query', async () => {
    const file = join(dir(), 'policy.txt');
    writeFileSync(file, 'one');
    const ds = new CachedDatasource(open('iowrapper:'), DEFAULT_CACHE);
    expect(await ds.query('policy.txt', {})).toEqual([{ value: 'one' }]);
    expect(await ds.query('policy.txt', {})).toEqual([{ value: 'one' }]);
    expect(ds.stats.hits).toBe(1);
    writeFileSync(file, 'two, longer');
    expect(await ds.query('policy.txt', {})).toEqual([{ value: 'two, longer' }]);
    writeFileSync(join(dir(), 'next'), 'three');
    renameSync(join(dir(), 'next'), file);
    expect(await ds.query('policy.txt', {})).toEqual([{ value: 'three' }]);
    // The file named by a $name parameter is the one whose version the cache asks.
    writeFileSync(join(dir(), 'b.txt'), 'b');
    expect(await ds.query('$f.txt', { f: 'b' })).toEqual([{ value: 'b' }]);
    writeFileSync(join(dir(), 'b.txt'), 'b2');
    expect(await ds.query('$f.txt', { f: 'b' })).toEqual([{ value: 'b2' }]);
  });

  it('reads a large file through the thread pool a chunk at a time, the event loop turning between chunks', async () => {
    // 8 MiB of lines, in 64 KiB chunks: 128 reads, each awaited.
    const line = `${'x'.repeat(60)}ü\n`;
    const text = line.repeat(Math.ceil((8 * 1024 * 1024) / Buffer.byteLength(line)));
    writeFileSync(join(dir(), 'big'), text);
    const ds = new IoWrapperDatasource(dir(), undefined, { chunkBytes: 64 * 1024 });
    const turns = turnCounter();
    const rows = await ds.query('big', {});
    expect(turns.stop()).toBeGreaterThanOrEqual(64);
    expect(rows[0]!.value === text).toBe(true);
  });

  it('property: any file, read in chunks of any size, is the text of its whole octets (UTF-8 when valid, else ISO-8859-1)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 80 }).map((s) => new Uint8Array(Buffer.from(s, 'utf8')))),
        fc.integer({ min: 1, max: 17 }),
        async (octets, chunkBytes) => {
          const file = join(dir(), `p${n++}`);
          writeFileSync(file, octets);
          const bytes = Buffer.from(octets);
          const expected = isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
          expect(await new IoWrapperDatasource(dir(), undefined, { chunkBytes }).query(file, {})).toEqual([{ value: expected }]);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('a Datasource scope with uri "iowrapper:" (4/modules/ds-core.md, "I/O Wrapper")', () => {
  it('loads without a warning; ds_fetch gives the file, ds_fetch_hash its column, and ec_include runs a script read through it', async () => {
    writeFileSync(join(dir(), 'greeting.txt'), 'hello from a file');
    writeFileSync(join(dir(), 'rules.siv'), 'ec_log "included through iowrapper";');
    const r = parseConfigText('Datasource "files" {\n  uri = ( "iowrapper:" )\n  cache_size = 10\n  cache_life = 60\n}\n', join(dir(), 'ecelerity.conf'));
    expect(r.diagnostics).toEqual([]);
    const host = createMomentumServices(r.config!);
    const script = `require "ec_include";
$p = hash_create;
hash_set $p "name" "greeting";
($g) = ds_fetch "files" "$name.txt" $p;
$h = ds_fetch_hash "files" "greeting.txt";
$v = hash_get $h "value";
ec_include ":datasource:files:rules.siv";`;
    const run = await runPP(script, { compile: { functions: productFunctions() }, host });
    expect(run.errors).toEqual([]);
    expect(getValue(run.runtime, 'g')).toBe('hello from a file');
    expect(getValue(run.runtime, 'v')).toBe('hello from a file');
    expect(run.runtime.log).toEqual(['included through iowrapper']);
  });

  it('a missing file sets datasource_error and gives nothing, as any failed query', async () => {
    const r = parseConfigText('Datasource "files" { uri = ( "iowrapper:" ) }\n', join(dir(), 'ecelerity.conf'));
    const run = await runPP('($x) = ds_fetch "files" "gone.txt"; $e = vctx_conn_get "datasource_error";', { compile: { functions: productFunctions() }, host: createMomentumServices(r.config!) });
    expect(getValue(run.runtime, 'x')).toBe('');
    expect(getValue(run.runtime, 'e')).toBe(`iowrapper: ${join(dir(), 'gone.txt')}: no such file`);
  });
});
