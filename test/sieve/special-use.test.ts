/**
 * RFC 8579 special-use mailboxes: specialuse_exists and fileinto
 * :specialuse, with the assignments served by the host.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSpecialUseFlag } from '../../src/sieve/extensions/special-use.js';
import type { SieveHost } from '../../src/sieve/runtime/host.js';
import { errorsOf, holds, run } from './helpers.js';

const USES: Record<string, string[]> = { '\\junk': ['Spam'], '\\sent': ['Sent', 'Sent Items'] };
const BOXES = new Set(['INBOX', 'Spam', 'Sent', 'Sent Items', 'Lists']);
const host: SieveHost = {
  specialUseMailboxes: (flag) => USES[flag.toLowerCase()] ?? [],
  mailboxExists: (name) => BOXES.has(name),
};

describe('specialuse_exists (RFC 8579 3.2)', () => {
  it('without a mailbox: every flag is assigned to some mailbox', async () => {
    expect(await holds('"special-use"', 'specialuse_exists ["\\\\Junk", "\\\\Sent"]', { host })).toBe(true);
    expect(await holds('"special-use"', 'specialuse_exists ["\\\\Junk", "\\\\Trash"]', { host })).toBe(false);
  });

  it('with a mailbox: it exists and carries every flag', async () => {
    expect(await holds('"special-use"', 'specialuse_exists "Sent Items" "\\\\Sent"', { host })).toBe(true);
    expect(await holds('"special-use"', 'specialuse_exists "Lists" "\\\\Sent"', { host })).toBe(false);
    expect(await holds('"special-use"', 'specialuse_exists "Spam" ["\\\\Junk", "\\\\Sent"]', { host })).toBe(false);
  });

  it('is false when the host assigns none', async () => {
    expect(await holds('"special-use"', 'specialuse_exists "\\\\Junk"')).toBe(false);
  });

  it('refuses a constant that is not a flag', () => {
    expect(errorsOf('require "special-use"; if specialuse_exists "INBOX" "Junk" { stop; }')).toEqual([`specialuse_exists: invalid special-use flag 'Junk' specified`]);
  });
});

describe('fileinto :specialuse (RFC 8579 3.3)', () => {
  it('files into the mailbox carrying the flag', async () => {
    const r = await run('require ["fileinto", "special-use"]; fileinto :specialuse "\\\\Junk" "Junk";', { host });
    expect(r.errors).toEqual([]);
    expect(r.actions.map((a) => [a.type, a.target, a.data?.specialUse])).toEqual([['store', 'Spam', '\\Junk']]);
  });

  it('falls back to the named mailbox when no mailbox carries it', async () => {
    const r = await run('require ["fileinto", "special-use", "variables"]; set "u" "\\\\Trash"; fileinto :specialuse "${u}" "Deleted";', { host });
    expect(r.actions.map((a) => [a.type, a.target])).toEqual([['store', 'Deleted']]);
  });

  it('fails at run time on a flag built wrongly from variables', async () => {
    const r = await run('require ["fileinto", "special-use", "variables"]; set "u" "Trash"; fileinto :specialuse "${u}" "Deleted";', { host });
    expect(r.errors.map((e) => e.message)).toEqual([`fileinto :specialuse: invalid special-use flag 'Trash' specified`]);
  });
});

describe('special-use flags (RFC 6154 2)', () => {
  it('are a backslash and an atom', () => {
    expect(['\\Junk', '\\Sent', '\\X-Custom'].every(isSpecialUseFlag)).toBe(true);
    expect(['Junk', '\\', '\\a b', '\\a*', '\\\\x'].some(isSpecialUseFlag)).toBe(false);
  });

  it('never throw', () => {
    fc.assert(fc.property(fc.string(), (s) => typeof isSpecialUseFlag(s) === 'boolean'));
  });
});
