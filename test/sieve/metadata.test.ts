/**
 * RFC 5490 mboxmetadata and servermetadata: annotations (RFC 5464) served
 * by the host, possibly asynchronously.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAnnotationName } from '../../src/sieve/extensions/metadata.js';
import type { SieveHost } from '../../src/sieve/runtime/host.js';
import { errorsOf, holds, resultVar } from './helpers.js';

const ENTRIES: Record<string, string> = { 'INBOX /private/comment': 'Main box', ' /shared/admin': 'mailto:postmaster@example.org' };
const host: SieveHost = { metadata: (mailbox, name) => ENTRIES[`${mailbox ?? ''} ${name}`] };
const asyncHost: SieveHost = { metadata: async (mailbox, name) => ENTRIES[`${mailbox ?? ''} ${name}`] };

describe('metadata and metadataexists (RFC 5490 3.3, 3.4)', () => {
  it('match a mailbox annotation, with match values', async () => {
    expect(await holds('"mboxmetadata"', 'metadata :contains "inbox" "/private/comment" "main"', { host })).toBe(true);
    expect(await resultVar('require ["mboxmetadata", "variables"]; if metadata :matches "INBOX" "/private/comment" "* box" { set "r" "${1}"; }', { host })).toBe('Main');
    expect(await holds('"mboxmetadata"', 'metadata :is "INBOX" "/private/comment" "other"', { host })).toBe(false);
  });

  it('are false for an entry that does not exist, even with :count', async () => {
    expect(await holds('"mboxmetadata", "relational", "comparator-i;ascii-numeric"', 'metadata :count "eq" :comparator "i;ascii-numeric" "INBOX" "/private/none" "0"', { host })).toBe(false);
    expect(await holds('"mboxmetadata"', 'metadataexists "INBOX" ["/private/comment", "/private/none"]', { host })).toBe(false);
    expect(await holds('"mboxmetadata"', 'metadataexists "INBOX" "/private/comment"', { host: asyncHost })).toBe(true);
  });

  it('are false without a host that keeps annotations', async () => {
    expect(await holds('"mboxmetadata"', 'metadataexists "INBOX" "/private/comment"')).toBe(false);
  });
});

describe('servermetadata and servermetadataexists (RFC 5490 4)', () => {
  it('read the server annotations', async () => {
    expect(await holds('"servermetadata"', 'servermetadata :matches "/shared/admin" "mailto:*"', { host: asyncHost })).toBe(true);
    expect(await holds('"servermetadata"', 'servermetadataexists ["/shared/admin", "/private/comment"]', { host })).toBe(false);
  });

  it('check their arguments', () => {
    expect(errorsOf('require "servermetadata"; if servermetadata "INBOX" "/shared/admin" "x" { stop; }')).toHaveLength(1);
    expect(errorsOf('require "mboxmetadata"; if metadata "/shared/admin" "x" { stop; }')).toHaveLength(1);
  });
});

describe('annotation names (RFC 5464 3.2)', () => {
  it('live under /private or /shared', () => {
    expect(['/private/comment', '/shared/vendor/x', '/PRIVATE/a'].every(isAnnotationName)).toBe(true);
    expect(['frop', '/friep', '/private', '/private/', '/shared/a//b', '/private/a*'].some(isAnnotationName)).toBe(false);
  });

  it('never throw', () => {
    fc.assert(fc.property(fc.string(), (s) => typeof isAnnotationName(s) === 'boolean'));
  });
});
