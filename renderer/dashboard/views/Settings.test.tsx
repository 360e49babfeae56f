import { cleanup, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineApiError } from '../../../protocol/engine-api.js';
import { callsOf, fakeEngine, renderDashboard } from '../testing.js';

afterEach(cleanup);

async function openSettings() {
  const engine = fakeEngine();
  renderDashboard(engine);
  const user = userEvent.setup();
  await user.click(await screen.findByRole('button', { name: 'Settings' }));
  await screen.findByRole('form', { name: 'Settings' });
  return { engine, user };
}

describe('Settings', () => {
  it('checks values as they are typed, in plain words, and sends nothing that does not fit', async () => {
    const { engine, user } = await openSettings();
    const limit = screen.getByLabelText('Temperature limit');
    await user.clear(limit);
    await user.type(limit, '120');
    expect(screen.getByText('the limit can be at most 100 °C')).toBeTruthy();
    expect(limit.getAttribute('aria-invalid')).toBe('true');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(screen.getByRole('alert').textContent).toMatch(/Temperature limit: the limit can be at most 100 °C/);
    expect(callsOf(engine, 'updateSettings')).toHaveLength(0);
  });

  it('saves only what changed, and says so', async () => {
    const { engine, user } = await openSettings();
    const idle = screen.getByLabelText('Start after I have been away for');
    await user.clear(idle);
    await user.type(idle, '12');
    await user.click(within(screen.getByRole('radiogroup', { name: 'Intensity' })).getByText('50 %'));
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await waitFor(() => expect(callsOf(engine, 'updateSettings')).toEqual([{ idleMinutes: 12, intensity: 50 }]));
    expect(await screen.findByText('Settings saved.')).toBeTruthy();
    expect(screen.getByText('All changes saved.')).toBeTruthy();
  });

  it('blocks a program picked from the running ones, or typed', async () => {
    const { engine, user } = await openSettings();
    await user.click(await screen.findByRole('button', { name: 'Block eldenring.exe' }));
    await user.type(screen.getByLabelText('Program to block, or filter the running ones'), 'C:\\game.exe');
    await user.click(screen.getByRole('button', { name: 'Block it' }));
    expect(screen.getByText(/not a path/)).toBeTruthy();
    await user.clear(screen.getByLabelText('Program to block, or filter the running ones'));
    await user.type(screen.getByLabelText('Program to block, or filter the running ones'), 'blender.exe{Enter}');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await waitFor(() => expect(callsOf(engine, 'updateSettings')).toEqual([{ blockedPrograms: ['eldenring.exe', 'blender.exe'] }]));
  });

  it('shows the engine’s refusal and keeps the edits', async () => {
    const { engine, user } = await openSettings();
    engine.failNext.updateSettings = new EngineApiError('INVALID_SETTINGS', 'hubUrl: the address must start with http:// or https://');
    const idle = screen.getByLabelText('Start after I have been away for');
    await user.clear(idle);
    await user.type(idle, '7');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect((await screen.findByText(/Not saved: hubUrl/)).textContent).toMatch(/http:\/\/ or https:\/\//);
    expect((idle as HTMLInputElement).value).toBe('7');
  });

  it('paints the schedule by keyboard: arrows move, Space toggles', async () => {
    const { user } = await openSettings();
    await user.click(screen.getByRole('switch', { name: 'Only at the hours I choose' }));
    await user.click(screen.getByRole('button', { name: 'Clear' }));
    const first = screen.getByRole('button', { name: 'Monday 00:00' });
    first.focus();
    await user.keyboard('{ArrowDown}{ArrowRight} ');
    const cell = screen.getByRole('button', { name: 'Tuesday 01:00' });
    expect(document.activeElement).toBe(cell);
    expect(cell.getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByRole('group', { name: /work allowed in 1 of 168 hours/ })).toBeTruthy();
  });
});
