import { describe, expect, it } from 'vitest';
import { parseEcconf } from '../../grammars/ecconf.js';
import { allScopes } from '../../src/config/schema.js';
import { editDistance, nearest } from '../../src/config/suggest.js';
import { parseCidr, parseHostPort, size } from '../../src/config/values.js';

describe('schema', () => {
  it('every default is valid configuration text for its own type', () => {
    for (const scope of allScopes) {
      for (const o of scope.options) {
        if (o.default === null) continue;
        const parsed = parseEcconf(`x = ${o.default}`);
        expect(parsed.errors, `${scope.name}.${o.name}`).toEqual([]);
        const st = parsed.statements[0];
        if (st?.kind !== 'option') throw new Error(`${o.name}: default is not an option value`);
        expect(o.type.parse(st.value, { dir: '/' }).ok, `${scope.name}.${o.name} = ${o.default}`).toBe(true);
      }
    }
  });

  it('names are unique within a scope, ignoring case, across options and child scopes', () => {
    for (const scope of allScopes) {
      const names = [...scope.options.map((o) => o.name), ...scope.scopes.map((s) => s.name)].map((n) => n.toLowerCase());
      expect(new Set(names).size, scope.name).toBe(names.length);
    }
  });

  it('required options have no default (a default would make them optional)', () => {
    for (const scope of allScopes) for (const o of scope.options) if (o.required) expect(o.default).toBeNull();
  });
});

describe('suggestions', () => {
  it('measures edit distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });

  it('suggests the nearest name case-insensitively, and nothing when all are far', () => {
    expect(nearest('PHSE', ['phase', 'port'])).toBe('phase');
    expect(nearest('timout', ['timeout', 'connect_timeout'])).toBe('timeout');
    expect(nearest('spool_dir', ['port', 'map'])).toBeUndefined();
  });
});

describe('value parsers', () => {
  it('host:port forms', () => {
    expect(parseHostPort('127.0.0.1:25')).toEqual({ host: '127.0.0.1', port: 25 });
    expect(parseHostPort(':25')).toEqual({ host: '0.0.0.0', port: 25 });
    expect(parseHostPort('[::1]:2525')).toEqual({ host: '::1', port: 2525 });
    expect(parseHostPort('10.0.0.1', 53)).toEqual({ host: '10.0.0.1', port: 53 });
    expect(parseHostPort('2001:db8::1', 53)).toEqual({ host: '2001:db8::1', port: 53 });
    for (const bad of ['127.0.0.1', 'host:25', '127.0.0.1:0', '127.0.0.1:65536', '[::1', '[]:25', '1.2.3:25', '']) {
      expect(parseHostPort(bad), bad).toBeUndefined();
    }
  });

  it('CIDR forms', () => {
    expect(parseCidr('10.0.0.0/8')).toBe('10.0.0.0/8');
    expect(parseCidr('2001:DB8::/32')).toBe('2001:db8::/32');
    expect(parseCidr('192.0.2.7')).toBe('192.0.2.7/32');
    for (const bad of ['10.0.0.0/33', '10.0.0/8', 'x/8', '']) expect(parseCidr(bad), bad).toBeUndefined();
  });

  it('sizes with suffixes', () => {
    const p = (text: string) => size.parse({ kind: 'scalar', text, quoted: false, numeric: false, pos: { line: 1, column: 1, offset: 0 } }, { dir: '/' });
    expect(p('1024')).toEqual({ ok: true, value: 1024 });
    expect(p('10m')).toEqual({ ok: true, value: 10 * 1024 * 1024 });
    expect(p('2KB')).toEqual({ ok: true, value: 2048 });
    expect(p('1g')).toEqual({ ok: true, value: 1024 ** 3 });
    expect(p('ten').ok).toBe(false);
  });
});
