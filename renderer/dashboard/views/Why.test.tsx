import { describe, expect, it } from 'vitest';
import type { EngineResult } from '../../../protocol/engine-api.js';
import { checks } from './Why.js';

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
