import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketStart, earningsSeries } from './series.js';

describe('earnings series', () => {
  it('starts weeks on the viewer’s Monday midnight, whatever their offset', () => {
    // Wednesday 7 January 2026, 10:00 UTC; a viewer at UTC+1.
    const t = Date.parse('2026-01-07T10:00:00Z');
    assert.equal(new Date(bucketStart(t, 'week', 60 * 60_000)).toISOString(), '2026-01-04T23:00:00.000Z');
    assert.equal(new Date(bucketStart(t, 'week', 0)).toISOString(), '2026-01-05T00:00:00.000Z');
    // Sunday 23:30 UTC is already Monday 00:30 at UTC+1: the new week there.
    const late = Date.parse('2026-01-04T23:30:00Z');
    assert.equal(bucketStart(late, 'week', 60 * 60_000), bucketStart(t, 'week', 60 * 60_000));
    assert.equal(new Date(bucketStart(t, 'day', -5 * 60 * 60_000)).toISOString(), '2026-01-07T05:00:00.000Z');
    assert.equal(new Date(bucketStart(Date.parse('2026-01-07T10:59:59Z'), 'hour', 30 * 60_000)).toISOString(), '2026-01-07T10:30:00.000Z');
  });

  it('sums exactly in bigint, counts tasks, and drops what is older than the window', () => {
    const now = new Date('2026-01-07T10:00:00Z');
    const big = '123456789012345678901234567890';
    const points = earningsSeries(
      [
        { createdAt: '2026-01-01T00:00:00Z', amount: '5' },
        { createdAt: '2026-01-06T12:00:00Z', amount: big },
        { createdAt: '2026-01-06T13:00:00Z', amount: '1' },
        { createdAt: '2026-01-07T09:00:00Z', amount: '7' },
      ],
      { bucket: 'day', count: 2, now, utcOffsetMinutes: 0 },
    );
    assert.deepEqual(points, [
      { start: '2026-01-06T00:00:00.000Z', amount: '123456789012345678901234567891', tasks: 2 },
      { start: '2026-01-07T00:00:00.000Z', amount: '7', tasks: 1 },
    ]);
  });
});
