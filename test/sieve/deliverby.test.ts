/**
 * RFC 6009 envelope-deliverby and redirect-deliverby: the BY parameter
 * (RFC 2852) as envelope parts, and redirects that carry a deadline.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRfc3339 } from '../../src/sieve/extensions/deliverby.js';
import type { SieveHost } from '../../src/sieve/runtime/host.js';
import { errorsOf, holds, resultVar, run } from './helpers.js';

const NOW = Date.UTC(2024, 0, 1, 12, 0, 0);
const host: SieveHost = { now: () => new Date(NOW) };
// Due at 13:00:30 UTC, given in +03:00.
const envelope = { deliverBy: { deadline: NOW + 3_630_000, offset: 180, mode: 'notify' as const, trace: true } };
const REQ = '"envelope", "envelope-deliverby"';

describe('envelope-deliverby (RFC 6009 5)', () => {
  it('gives the deadline in its zone, or in the :zone asked for', async () => {
    expect(await holds(REQ, 'envelope "bytimeabsolute" "2024-01-01T16:00:30+03:00"', { host, envelope })).toBe(true);
    expect(await holds(REQ, 'envelope :zone "+0000" "bytimeabsolute" "2024-01-01T13:00:30Z"', { host, envelope })).toBe(true);
    expect(await holds(REQ, 'envelope :zone "-0130" "bytimeabsolute" "2024-01-01T11:30:30-01:30"', { host, envelope })).toBe(true);
  });

  it('gives the seconds left, the mode and the trace flag', async () => {
    expect(await resultVar('require ["envelope", "envelope-deliverby", "variables"]; if envelope :matches "bytimerelative" "*" { set "r" "${1}"; }', { host, envelope })).toBe('3630');
    expect(await holds(`${REQ}, "relational", "comparator-i;ascii-numeric"`, 'envelope :value "lt" :comparator "i;ascii-numeric" "bytimerelative" "0"', { host, envelope })).toBe(false);
    expect(await holds(REQ, 'allof (envelope "bymode" "notify", envelope "bytrace" "trace")', { host, envelope })).toBe(true);
  });

  it('has no values without a BY parameter', async () => {
    expect(await holds(REQ, 'envelope :matches ["bytimeabsolute", "bytimerelative", "bymode", "bytrace"] "*"', { host })).toBe(false);
  });

  it('is needed for the parts and for :zone', () => {
    expect(errorsOf('require "envelope"; if envelope "bymode" "notify" { stop; }')).toEqual([`specified envelope part 'bymode' is not supported by the envelope test`]);
    expect(errorsOf(`require [${REQ}]; if envelope :zone "+25" "bytimeabsolute" "x" { stop; }`)).toEqual([`invalid time zone '+25' for the envelope test`]);
  });
});

describe('redirect-deliverby (RFC 6009 6)', () => {
  it('carries a relative deadline, its mode and trace on the redirect', async () => {
    const r = await run('require "redirect-deliverby"; redirect :bytimerelative 600 :bymode "notify" :bytrace "cell@example.com";', { host });
    expect(r.errors).toEqual([]);
    expect(r.actions.map((a) => [a.type, a.target, a.data?.deliverBy])).toEqual([['redirect', 'cell@example.com', { deadline: NOW + 600_000, mode: 'notify', trace: true }]]);
  });

  it('carries an absolute deadline, returning by default', async () => {
    const r = await run('require ["redirect-deliverby", "copy"]; redirect :copy :bytimeabsolute "2024-01-01T20:00:00+01:00" "cell@example.com";', { host });
    expect(r.actions[0]!.data?.deliverBy).toEqual({ deadline: Date.UTC(2024, 0, 1, 19), mode: 'return', trace: false });
    expect(r.actions[0]!.copy).toBe(true);
  });

  it('checks its tags', () => {
    const req = 'require "redirect-deliverby"; ';
    expect(errorsOf(`${req}redirect :bymode "notify" "a@example.com";`)).toEqual(['redirect: :bymode needs :bytimerelative or :bytimeabsolute']);
    expect(errorsOf(`${req}redirect :bytimerelative 5 :bymode "later" "a@example.com";`)).toEqual([`redirect :bymode: 'later' is not "notify" or "return"`]);
    expect(errorsOf(`${req}redirect :bytimeabsolute "tomorrow" "a@example.com";`)).toEqual([`redirect :bytimeabsolute: 'tomorrow' is not an RFC 3339 date-time`]);
    expect(errorsOf(`${req}redirect :bytimerelative 5 :bytimeabsolute "2024-01-01T20:00:00Z" "a@example.com";`)).toHaveLength(1);
  });

  it('fails at run time on a date-time built wrongly from variables', async () => {
    const r = await run('require ["redirect-deliverby", "variables"]; set "t" "soon"; redirect :bytimeabsolute "${t}" "a@example.com";', { host });
    expect(r.errors.map((e) => e.message)).toEqual([`redirect :bytimeabsolute: 'soon' is not an RFC 3339 date-time`]);
  });
});

describe('RFC 3339 date-times', () => {
  it('parse with Z, an offset and fractions; refuse the rest', () => {
    expect(parseRfc3339('1990-01-01T00:00:30+03:00')).toEqual({ utc: Date.UTC(1989, 11, 31, 21, 0, 30), offset: 180 });
    expect(parseRfc3339('2024-02-29t10:00:00.5Z')).toEqual({ utc: Date.UTC(2024, 1, 29, 10, 0, 0, 500), offset: 0 });
    expect(['2023-02-29T10:00:00Z', '2024-01-01 10:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T10:00:00'].map(parseRfc3339)).toEqual([null, null, null, null]);
  });

  it('never throw', () => {
    fc.assert(fc.property(fc.string(), (s) => { parseRfc3339(s); }));
    fc.assert(fc.property(fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 0)), noInvalidDate: true }), (d) => parseRfc3339(d.toISOString())?.utc === d.getTime()));
  });
});
