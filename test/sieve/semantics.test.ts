/**
 * The semantics implementations most often get wrong (RFC 5228's implicit
 * keep, discard, stop, and their kin), one test each.
 */
import { describe, expect, it } from 'vitest';
import { errorsOf, holds, resultVar, run } from './helpers.js';

describe('strings (RFC 5228 2.4.2)', () => {
  it('undoes dot-stuffing in text: and allows a hash comment after text:', async () => {
    const v = await resultVar('require "variables";\nset "r" text: # a comment\n..leading dot\nplain\n.\n;');
    expect(v).toBe('.leading dot\r\nplain\r\n');
  });

  it('reads \\x as x in quoted strings for any x but " and \\', async () => {
    expect(await resultVar('require "variables"; set "r" "a\\qb\\"c\\\\d";')).toBe('aqb"c\\d');
  });
});

describe(':matches (RFC 5228 2.7.1, RFC 5229 3.2)', () => {
  it('gives each * as little as possible, left to right', async () => {
    expect(await resultVar('require "variables"; if string :matches "a.b.c.d" "*.*" { set "r" "${1}|${2}"; }')).toBe('a|b.c.d');
  });

  it('treats \\* and \\? as literal characters', async () => {
    expect(await holds('"variables"', 'string :matches "a*b" "a\\\\*b"')).toBe(true);
    expect(await holds('"variables"', 'string :matches "axb" "a\\\\*b"')).toBe(false);
    expect(await holds('"variables"', 'string :matches "a?b" "a\\\\?b"')).toBe(true);
  });

  it('keeps match values from the last successful match only', async () => {
    const v = await resultVar(
      'require "variables"; if string :matches "one two" "* *" {} if string :matches "x" "y*" {} set "r" "${1}-${2}";',
    );
    expect(v).toBe('one-two');
  });

  it('does not blow up on many stars (linear placement)', async () => {
    const pattern = '*a'.repeat(40) + '*b';
    const start = Date.now();
    expect(await holds('"variables"', `string :matches "${'a'.repeat(5000)}" "${pattern}"`)).toBe(false);
    expect(Date.now() - start).toBeLessThan(2000);
  });
});

describe(':count with i;ascii-numeric (RFC 5231 4.2, RFC 4790 9.1)', () => {
  const req = '"relational", "comparator-i;ascii-numeric", "variables"';
  it('counts values', async () => {
    expect(await holds(req, 'address :count "eq" :comparator "i;ascii-numeric" "to" "2"')).toBe(true);
  });
  it('compares non-digit strings as positive infinity', async () => {
    expect(await holds(req, 'string :value "gt" :comparator "i;ascii-numeric" "abc" "99999999999999999999"')).toBe(true);
    expect(await holds(req, 'string :value "eq" :comparator "i;ascii-numeric" "abc" "xyz"')).toBe(true);
    expect(await holds(req, 'string :value "eq" :comparator "i;ascii-numeric" "007" "7"')).toBe(true);
  });
});

describe('address parts (RFC 5228 2.7.4)', () => {
  const msg = (to: string) => `From: x@example.com\nTo: ${to}\nSubject: s\n\nb\n`;
  it('ignores comments and display names', async () => {
    expect(await holds('', 'address :localpart "to" "tss"', { message: msg('Timo <tss(no spam)@fi.iki>') })).toBe(true);
  });
  it('unquotes quoted local parts', async () => {
    expect(await holds('', 'address :localpart "to" "a b"', { message: msg('"a b"@example.com') })).toBe(true);
  });
  it('takes group members and nothing from an empty group', async () => {
    const m = msg('undisclosed-recipients:;, team: henk@tukkerland.ex, theo@tukkerland.ex;');
    expect(await holds('', 'address :localpart "to" "theo"', { message: m })).toBe(true);
    expect(await holds('', 'address :contains :all "to" "undisclosed"', { message: m })).toBe(false);
  });
  it('gives an invalid address to :all only', async () => {
    const m = msg('nonsense');
    expect(await holds('', 'address :all "to" "nonsense"', { message: m })).toBe(true);
    expect(await holds('', 'address :localpart "to" "nonsense"', { message: m })).toBe(false);
  });
});

describe('RFC 2047 encoded words', () => {
  it('are decoded by the header test', async () => {
    expect(await holds('', 'header :is "subject" "Héllo world"')).toBe(true);
  });
  it('are not decoded by the address test', async () => {
    const m = 'From: x@example.com\nTo: =?utf-8?q?Fr=C3=A9d?= <fred@example.com>\n\nb\n';
    expect(await holds('', 'address :contains :all "to" "Fréd"', { message: m })).toBe(false);
    expect(await holds('', 'address :is "to" "fred@example.com"', { message: m })).toBe(true);
  });
});

describe('envelope (RFC 5228 5.4)', () => {
  it('matches the null sender <> as ""', async () => {
    expect(await holds('"envelope"', 'envelope :is "from" ""', { envelope: { from: '<>' } })).toBe(true);
    expect(await holds('"envelope"', 'envelope :domain :is "from" ""', { envelope: { from: '' } })).toBe(true);
  });
});

describe('actions and the implicit keep (RFC 5228 2.10, 4)', () => {
  it('stop is not an error and keeps the implicit keep', async () => {
    const r = await run('stop; discard;');
    expect(r.errors).toEqual([]);
    expect(r.implicitKeep).toBe(true);
    expect(r.actions).toEqual([]);
  });
  it(':copy does not cancel the implicit keep; a plain redirect does', async () => {
    expect((await run('require "copy"; redirect :copy "a@example.com";')).implicitKeep).toBe(true);
    expect((await run('redirect "a@example.com";')).implicitKeep).toBe(false);
  });
  it('keep and fileinto "INBOX" are one store', async () => {
    const r = await run('require "fileinto"; keep; fileinto "INBOX"; fileinto "inbox";');
    expect(r.actions.map((a) => a.type)).toEqual(['keep']);
  });
  it('duplicate redirects collapse', async () => {
    const r = await run('redirect "a@example.com"; redirect "Someone <a@example.com>";');
    expect(r.actions.filter((a) => a.type === 'redirect')).toHaveLength(1);
  });
  it('reject conflicts with keep (RFC 5429 2.1)', async () => {
    const r = await run('require "reject"; keep; reject "no";');
    expect(r.errors[0]?.message).toMatch(/conflicts/);
  });
});

describe('require (RFC 5228 3.2)', () => {
  it('an unknown capability is a compile error with a position', () => {
    expect(errorsOf('require "nonsense";')).toEqual(["require command: unknown Sieve capability 'nonsense'"]);
  });
  it('an extension command without require is unknown', () => {
    expect(errorsOf('fileinto "x";')[0]).toMatch(/unknown command 'fileinto'/);
  });
});
