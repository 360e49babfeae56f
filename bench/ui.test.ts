/** `idleforge bench ui`: what its figures mean on known loads (nothing here is timed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, summary, type Load } from './ui.js';

describe('idleforge bench ui: figures', () => {
  it('each timing is the median of the loads that have it; the worst first render beside', () => {
    const load = (firstRender: number, firstContentfulPaint: number | null, scriptLoaded: number | null, statusAnswered: number | null): Load => ({
      firstRender,
      firstContentfulPaint,
      scriptLoaded,
      statusAnswered,
    });
    const s = summary([load(300.4, 120, 80, 200), load(100, null, 60, 90), load(200, 110, null, 150)]);
    assert.deepEqual(s, { firstRender: 200, worst: 300, firstContentfulPaint: 115, scriptLoaded: 70, statusAnswered: 150 });
    assert.deepEqual(summary([load(250, null, null, null)]), { firstRender: 250, worst: 250, firstContentfulPaint: null, scriptLoaded: null, statusAnswered: null });
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([5, 1, 3]), 3);
  });
});
