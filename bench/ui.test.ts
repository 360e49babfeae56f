/** `idleforge bench ui`: what its figures mean on known loads (nothing here is timed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mainThreadCpu, median, summary, type Load, type TraceEvent } from './ui.js';

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

  it("the first open's main-thread CPU: the thread time of the page's main thread from its navigation to the mark", () => {
    const url = 'http://127.0.0.1:4000/';
    const task = (pid: number, tid: number, ts: number, tdur: number, name = 'ThreadControllerImpl::RunTask'): TraceEvent => ({ name, ph: 'X', pid, tid, ts, dur: tdur * 3, tdur });
    const events: TraceEvent[] = [
      { name: 'thread_name', ph: 'M', pid: 7, tid: 1, ts: 0, args: { name: 'CrRendererMain' } },
      { name: 'thread_name', ph: 'M', pid: 7, tid: 2, ts: 0, args: { name: 'Compositor' } },
      { name: 'navigationStart', ph: 'R', pid: 7, tid: 1, ts: 500, args: { data: { documentLoaderURL: '' } } },
      { name: 'navigationStart', ph: 'R', pid: 7, tid: 1, ts: 1_000, args: { data: { documentLoaderURL: `${url}#token=ab` } } },
      task(7, 1, 600, 5_000), // before the navigation
      task(7, 1, 2_000, 30_000),
      task(7, 1, 3_000, 20_000, 'v8.evaluateModule'),
      task(7, 1, 40_000, 12_500),
      task(7, 2, 40_000, 9_000), // another thread
      task(8, 1, 40_000, 9_000), // another process
      task(7, 1, 90_000, 7_000), // after the mark
      { name: 'idleforge:home-ready', ph: 'R', pid: 7, tid: 1, ts: 80_000 },
    ];
    assert.deepEqual(mainThreadCpu(events, 'idleforge:home-ready', url), { busy: 42.5, evaluate: 20 });
    assert.equal(mainThreadCpu(events, 'no-such-mark', url), null);
    assert.equal(mainThreadCpu(events, 'idleforge:home-ready', 'http://127.0.0.1:5000/'), null);
  });
});
