import { cleanup, screen } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineResult } from '../../../protocol/engine-api.js';
import { callsOf, fakeEngine, renderDashboard, statusOf } from '../testing.js';
import { checks } from './Why.js';

afterEach(cleanup);

const base: EngineResult<'getDiagnostics'> = {
  blockedBy: null,
  reason: 'Working',
  idleSeconds: 'always',
  idleMinutesNeeded: 5,
  temperatureC: 71.6,
  temperatureLimitC: 80,
  resumeAtC: 75,
  fanPercent: null,
  fanCapPercent: null,
  onBattery: false,
  allowOnBattery: false,
  blockedProgram: null,
  scheduleEnabled: false,
  inSchedule: true,
  otherGpuUsePercent: null,
  gpuBusyPercent: 30,
  pause: { kind: 'none' },
};
const temperature = (d: Partial<EngineResult<'getDiagnostics'>>): string | undefined => checks({ ...base, ...d }, null).find((c) => c.code === 'too-hot')?.detail;

describe('Why: the temperature check', () => {
  it('says the fans’ speed and the hour’s cap where they can be read, and that the cap does nothing where they cannot', () => {
    expect(temperature({})).toBe('72 °C, under the 80 °C limit.');
    expect(temperature({ fanPercent: 78.4, fanCapPercent: 80 })).toBe('72 °C, under the 80 °C limit. Fans at 78 %, held under 80 % by working a little cooler.');
    expect(temperature({ fanPercent: 55 })).toBe('72 °C, under the 80 °C limit. Fans at 55 %.');
    expect(temperature({ fanCapPercent: 60 })).toMatch(/caps the fans at 60 %, but their speed cannot be read here, so the cap does nothing\.$/);
  });
});

const check = (d: Partial<EngineResult<'getDiagnostics'>>, code: string) => checks({ ...base, ...d }, null).find((c) => c.code === code);
const REASON = 'Your GPU returned wrong results twice in 20 tasks: it may be overclocked too far or running too hot';

describe('Why: the sentinel and the electricity', () => {
  it('says how many wrong results the last tasks had, the cap it set, and why it paused', () => {
    expect(check({ gpuFaults: { faults: 0, window: 20, pauseAt: 2, capPercent: null, pausedReason: null } }, 'gpu-faults')).toMatchObject({ ok: true, detail: 'No wrong results or crashes in the last 20 tasks.' });
    expect(check({ gpuFaults: { faults: 1, window: 20, pauseAt: 2, capPercent: 75, pausedReason: null } }, 'gpu-faults')?.detail).toBe(
      '1 wrong result or crash in the last 20 tasks: working 75 % of the time until 20 tasks in a row are right; work pauses at 2.',
    );
    const paused = check({ blockedBy: 'gpu-faults', gpuFaults: { faults: 2, window: 20, pauseAt: 2, capPercent: 50, pausedReason: REASON } }, 'gpu-faults');
    expect(paused?.ok).toBe(false);
    expect(paused?.detail).toMatch(/^Your GPU returned wrong results twice in 20 tasks: it may be overclocked too far or running too hot\. Check its clocks and cooling, then resume/);
    expect(check({}, 'gpu-faults')).toBeUndefined();
  });

  it('says whether work pays, and that it waits when it does not', () => {
    const waiting = check({ blockedBy: 'unprofitable', profit: { only: true, unprofitable: true } }, 'unprofitable');
    expect(waiting).toMatchObject({ ok: false, detail: 'Electricity now costs more than this GPU earns: work waits for a cheaper hour or better rates.' });
    expect(check({ profit: { only: true, unprofitable: null } }, 'unprofitable')?.detail).toMatch(/work is not stopped on a guess/);
    expect(check({ profit: { only: false, unprofitable: true } }, 'unprofitable')).toMatchObject({ ok: true });
  });
});

describe('Why: resuming after the sentinel', () => {
  it('offers to resume once the GPU is checked', async () => {
    const engine = fakeEngine({ status: statusOf({ state: 'waiting', reason: REASON, blockedBy: 'gpu-faults', task: null }) });
    renderDashboard(engine);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Why am I not earning?' }));
    await user.click(await screen.findByRole('button', { name: 'I have checked the GPU: resume' }));
    expect(callsOf(engine, 'resume')).toHaveLength(1);
  });
});
