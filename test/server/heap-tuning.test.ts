import { describe, expect, it } from 'vitest';
import { tuneHeap } from '../../src/server/heap-tuning.js';

describe('tuneHeap (docs/server.md, "Garbage collection")', () => {
  it('turns allocation-site pretenuring off when the operator chose nothing', () => {
    expect(tuneHeap([])).toBe(true);
    expect(tuneHeap(['--max-old-space-size=512', '--enable-source-maps'])).toBe(true);
  });

  it("leaves the operator's choice on node's command line alone, either way", () => {
    expect(tuneHeap(['--allocation-site-pretenuring'])).toBe(false);
    expect(tuneHeap(['--max-old-space-size=512', '--no-allocation-site-pretenuring'])).toBe(false);
    expect(tuneHeap(['--allocation_site_pretenuring'])).toBe(false);
    expect(tuneHeap(['--no-allocation-site-pretenuring=true'])).toBe(false);
  });

  it('does not mistake a longer flag for the choice', () => {
    expect(tuneHeap(['--allocation-site-pretenuring-limit=3'])).toBe(true);
  });
});
