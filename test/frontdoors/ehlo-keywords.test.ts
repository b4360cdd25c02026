import { describe, expect, it } from 'vitest';
import { changedKeywords } from '../../src/frontdoors/smtp/ehlo-keywords.js';

const offered = ['PIPELINING', '8BITMIME', 'SIZE 10000', 'DELIVERBY 240'];

describe('changedKeywords', () => {
  it('adds a keyword not offered, last; a keyword offered already stays once', () => {
    expect(changedKeywords(offered, [{ op: 'advertize', keyword: 'XFOO bar' }, { op: 'advertize', keyword: '8bitmime' }])).toEqual([...offered, 'XFOO bar']);
  });

  it('takes out every line a disabled keyword begins, whatever its parameters and case', () => {
    expect(changedKeywords(offered, [{ op: 'disable', keyword: 'size' }, { op: 'disable', keyword: 'DeliverBy 100' }])).toEqual(['PIPELINING', '8BITMIME']);
  });

  it('applies the changes in order: disabled then advertized is offered, and the other way round is not', () => {
    expect(changedKeywords(offered, [{ op: 'disable', keyword: 'PIPELINING' }, { op: 'advertize', keyword: 'PIPELINING' }])).toEqual(['8BITMIME', 'SIZE 10000', 'DELIVERBY 240', 'PIPELINING']);
    expect(changedKeywords(offered, [{ op: 'advertize', keyword: 'XFOO' }, { op: 'disable', keyword: 'xfoo' }])).toEqual(offered);
  });

  it('leaves the lines as they are without changes', () => {
    expect(changedKeywords(offered, undefined)).toEqual(offered);
    expect(changedKeywords(offered, [])).toEqual(offered);
  });
});
