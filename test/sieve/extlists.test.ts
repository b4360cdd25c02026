/**
 * RFC 6134 externally stored lists: the :list match type, valid_ext_list and
 * redirect :list, with the lists served by the host (SieveHost.externalList).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeListName } from '../../src/sieve/extensions/extlists.js';
import type { ExternalList, SieveHost } from '../../src/sieve/runtime/host.js';
import { errorsOf, holds, resultVar, run } from './helpers.js';

function list(...members: string[]): ExternalList {
  return { contains: (v) => members.includes(v.toLowerCase()), members: () => members };
}

const LISTS: Record<string, ExternalList> = {
  'urn:ietf:params:sieve:addrbook:default': list('bob@example.net', 'carol@example.com'),
  'tag:example.com,2024:blocked': list('example.net'),
  'tag:example.com,2024:team': list('dave@example.com', 'example.org', 'erin@example.com'),
};
const host: SieveHost = { externalList: (name) => LISTS[name] };

describe(':list match type (RFC 6134 2.2)', () => {
  it('is true when an address is on a named list, and sets ${0} to it', async () => {
    expect(await holds('"extlists"', 'address :list "to" ":addrbook:default"', { host })).toBe(true);
    expect(await holds('"extlists"', 'address :list "from" ":addrbook:default"', { host })).toBe(false);
    expect(await resultVar('require ["extlists", "variables"]; if address :list "to" "urn:ietf:params:sieve:addrbook:default" { set "r" "${0}"; }', { host })).toBe('bob@example.net');
  });

  it('tests domains with :domain and any of several lists', async () => {
    expect(await holds('"extlists"', 'address :domain :list "to" ["tag:example.com,2024:team", "tag:example.com,2024:blocked"]', { host })).toBe(true);
    expect(await holds('"extlists"', 'address :domain :list "from" "tag:example.com,2024:blocked"', { host })).toBe(false);
  });

  it('warns about a key that names no list, and does not match it', async () => {
    const r = await run('require "extlists"; if address :list "to" ["tag:example.com,2024:nope", "frop:666"] { discard; }', { host });
    expect(r.errors).toEqual([]);
    expect(r.actions.some((a) => a.type === 'discard')).toBe(false);
    expect(r.warnings.map((w) => w.message)).toEqual([`key item 'tag:example.com,2024:nope' for ":list" match is not a known list name`]);
  });

  it('matches nothing when the host has no lists', async () => {
    expect(await holds('"extlists"', 'address :list "to" ":addrbook:default"')).toBe(false);
  });

  it('refuses a comparator', () => {
    expect(errorsOf('require "extlists"; if address :list :comparator "i;octet" "to" ":addrbook:default" { stop; }')).toEqual([
      'the :list match type does not allow a comparator',
    ]);
  });
});

describe('valid_ext_list (RFC 6134 2.3)', () => {
  it('is true only when every name is a list the host has', async () => {
    expect(await holds('"extlists"', 'valid_ext_list [":addrbook:default", "TAG:example.com,2024:team"]', { host })).toBe(true);
    expect(await holds('"extlists"', 'valid_ext_list [":addrbook:default", ":addrbook:personal"]', { host })).toBe(false);
    expect(await holds('"extlists"', 'valid_ext_list "frop:666"', { host })).toBe(false);
  });
});

describe('redirect :list (RFC 6134 2.4)', () => {
  it('redirects to every address on the list, passing over domains with a warning', async () => {
    const r = await run('require ["extlists", "copy"]; redirect :copy :list "tag:example.com,2024:team";', { host });
    expect(r.errors).toEqual([]);
    expect(r.actions.filter((a) => a.type === 'redirect').map((a) => [a.target, a.copy])).toEqual([
      ['dave@example.com', true],
      ['erin@example.com', true],
    ]);
    expect(r.implicitKeep).toBe(true);
    expect(r.warnings.map((w) => w.message)).toEqual([`redirect :list: 'example.org' on list 'tag:example.com,2024:team' is not an address; skipped`]);
  });

  it('fails at run time on a list the host does not have', async () => {
    const r = await run('require ["extlists", "variables"]; set "l" "tag:example.com,2024:nope"; redirect :list "${l}";', { host });
    expect(r.errors.map((e) => e.message)).toEqual([`redirect :list: unknown list 'tag:example.com,2024:nope'`]);
  });

  it('is a compile error for a malformed name, or an unknown one when the compiler knows the lists', () => {
    expect(errorsOf('require "extlists"; redirect :list "frop:666";')).toEqual([`redirect :list: 'frop:666' is not a valid list name (a URN or tag URI)`]);
    expect(errorsOf('require "extlists"; redirect :list "tag:example.com,2024:team";')).toEqual([]);
    const knownList = (n: string) => n in LISTS;
    expect(errorsOf('require "extlists"; redirect :list "tag:example.com,2024:nope";', { knownList })).toEqual([`redirect :list: unknown list 'tag:example.com,2024:nope'`]);
    expect(errorsOf('require "extlists"; redirect :list ":addrbook:default";', { knownList })).toEqual([]);
  });

  it('needs extlists: without it :list is an unknown tag', () => {
    expect(errorsOf('redirect :list ":addrbook:default";').length).toBeGreaterThan(0);
  });
});

describe('list names (RFC 6134 2.1)', () => {
  it('expands the ":" shorthand and folds case', () => {
    expect(normalizeListName(':addrbook:Default')).toBe('urn:ietf:params:sieve:addrbook:default');
    expect(normalizeListName('Tag:Example.com,2010-05-28:MyList')).toBe('tag:example.com,2010-05-28:mylist');
    expect(normalizeListName('frop:666')).toBeNull();
    expect(normalizeListName('urn:ietf:params:sieve:addrbook:x y')).toBeNull();
  });

  it('never throws, and a normalised name normalises to itself', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `:${s}`), fc.string().map((s) => `urn:x:${s}`), fc.string().map((s) => `tag:a,2020:${s}`)), (s) => {
        const n = normalizeListName(s);
        if (n !== null) expect(normalizeListName(n)).toBe(n);
      }),
    );
  });
});
