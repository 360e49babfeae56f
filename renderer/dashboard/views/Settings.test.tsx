import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
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

  it('takes the pause shortcut as keys pressed, Backspace for none, and saves it', async () => {
    const { engine, user } = await openSettings();
    const box = screen.getByLabelText('Pause shortcut') as HTMLInputElement;
    expect(box.value).toBe('Control+Alt+P');
    fireEvent.keyDown(box, { key: 'k', code: 'KeyK', ctrlKey: true, shiftKey: true });
    expect(box.value).toBe('Control+Shift+K');
    fireEvent.keyDown(box, { key: 'Shift', code: 'ShiftLeft', shiftKey: true });
    // A modifier alone changes nothing.
    expect(box.value).toBe('Control+Shift+K');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await waitFor(() => expect(callsOf(engine, 'updateSettings').at(-1)).toEqual({ pauseShortcut: 'Control+Shift+K' }));
    fireEvent.keyDown(box, { key: 'Backspace', code: 'Backspace' });
    expect(box.value).toBe('');
  });

  it('saves only what changed, and says so', async () => {
    const { engine, user } = await openSettings();
    const idle = screen.getByLabelText('Start after I have been away for');
    await user.clear(idle);
    await user.type(idle, '12');
    await user.click(within(screen.getByRole('radiogroup', { name: 'Custom cap' })).getByText('50 %'));
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

  it('paints hours with a preset brush, shows each preset in the legend, and saves the grid of presets', async () => {
    const { engine, user } = await openSettings();
    const brushes = screen.getByRole('radiogroup', { name: 'Paint hours with' });
    // Disabled until the schedule is on.
    expect((within(brushes).getByLabelText('Quiet') as HTMLInputElement).disabled).toBe(true);
    await user.click(screen.getByRole('switch', { name: 'Only at the hours I choose' }));
    await user.click(screen.getByRole('button', { name: 'Clear' }));
    await user.click(within(brushes).getByLabelText('Quiet'));
    const cell = screen.getByRole('button', { name: 'Wednesday 03:00' });
    // A drag: pressed on 03:00, over 04:00, released.
    fireEvent.mouseDown(cell);
    fireEvent.mouseEnter(screen.getByRole('button', { name: 'Wednesday 04:00' }));
    fireEvent.mouseUp(cell);
    expect(cell.className).toMatch(/slot-quiet/);
    expect(cell.getAttribute('title')).toMatch(/Quiet \(hold 68 °C, up to 50 % of the time, fans ≤ 60 %\)/);
    // The Max brush over a Quiet hour replaces it; Space paints by keyboard.
    await user.click(within(brushes).getByLabelText('Max'));
    cell.focus();
    await user.keyboard(' ');
    expect(cell.className).toMatch(/slot-max/);
    expect(screen.getByRole('button', { name: 'Wednesday 04:00' }).className).toMatch(/slot-quiet/);
    expect(screen.getByRole('group', { name: /work allowed in 2 of 168 hours/ })).toBeTruthy();
    const legend = screen.getByRole('list', { name: 'Presets' });
    expect(legend.textContent).toMatch(/Balanced hold 75 °C, up to 75 % of the time/);
    expect(legend.textContent).toMatch(/Custom hold 75 °C, up to 100 % of the time/);
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await waitFor(() => expect(callsOf(engine, 'updateSettings')).toHaveLength(1));
    const patch = callsOf(engine, 'updateSettings')[0] as { scheduleEnabled: boolean; schedule: string[][] };
    expect(patch.scheduleEnabled).toBe(true);
    expect(patch.schedule[2]![3]).toBe('max');
    expect(patch.schedule[2]![4]).toBe('quiet');
    expect(patch.schedule.flat().filter((x) => x !== 'off')).toHaveLength(2);
  });

  it('the Presets shortcuts fill with the brush, and Clear turns every hour off', async () => {
    const { user } = await openSettings();
    await user.click(screen.getByRole('switch', { name: 'Only at the hours I choose' }));
    await user.click(within(screen.getByRole('radiogroup', { name: 'Paint hours with' })).getByLabelText('Balanced'));
    await user.click(screen.getByRole('button', { name: 'Nights (22:00–08:00)' }));
    expect(screen.getByRole('button', { name: 'Sunday 23:00' }).className).toMatch(/slot-balanced/);
    expect(screen.getByRole('button', { name: 'Sunday 12:00' }).className).toMatch(/slot-off/);
    await user.click(screen.getByRole('button', { name: 'Clear' }));
    expect(screen.getByRole('group', { name: /work allowed in 0 of 168 hours/ })).toBeTruthy();
  });

  it('edits the Custom target and cap, checks the target, and says when the limit holds it lower', async () => {
    const { engine, user } = await openSettings();
    const target = screen.getByLabelText('Custom target temperature');
    await user.clear(target);
    await user.type(target, '30');
    expect(screen.getByText('the target must be at least 40 °C')).toBeTruthy();
    await user.clear(target);
    await user.type(target, '79');
    expect(screen.getByText(/Held at 77 °C: every preset stays 3 °C under the temperature limit/)).toBeTruthy();
    await user.clear(target);
    await user.type(target, '70');
    await user.click(within(screen.getByRole('radiogroup', { name: 'Custom cap' })).getByText('75 %'));
    expect(screen.getByRole('list', { name: 'Presets' }).textContent).toMatch(/Custom hold 70 °C, up to 75 % of the time/);
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await waitFor(() => expect(callsOf(engine, 'updateSettings')).toEqual([{ intensity: 75, customTargetC: 70 }]));
  });
});

describe('Settings: what it costs', () => {
  it('takes a flat price and a token value as decimals and saves them as exact micro-units', async () => {
    const { engine, user } = await openSettings();
    const currency = screen.getByLabelText('Currency');
    await user.clear(currency);
    await user.type(currency, 'gbp');
    await user.type(screen.getByLabelText('Electricity price (GBP per kWh)'), '0,2815');
    const value = screen.getByLabelText('Value of one token (GBP)');
    await user.type(value, '0.05');
    await user.click(screen.getByRole('switch', { name: 'Work only while it earns more than the electricity costs' }));
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await waitFor(() =>
      expect(callsOf(engine, 'updateSettings')).toEqual([{ electricity: { currency: 'GBP', perKwh: 281_500, byHour: null }, tokenValue: 50_000, workOnlyWhenProfitable: true }]),
    );
  });

  it('refuses a price that is not one, in plain words', async () => {
    const { engine, user } = await openSettings();
    await user.type(screen.getByLabelText('Electricity price (USD per kWh)'), '-3');
    expect(screen.getByText('enter a price like 0.30 (up to six decimals)')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(callsOf(engine, 'updateSettings')).toHaveLength(0);
  });

  it('labels the hub’s reference price as the token’s default value', async () => {
    await openSettings();
    expect(screen.getByText(/Empty: the hub’s reference price, 0\.01 EUR a token \(a test reference price\)\. It is a reference the hub publishes, not a market price\./)).toBeTruthy();
    expect((screen.getByLabelText('Value of one token (USD)') as HTMLInputElement).placeholder).toBe('0.01');
  });

  it('paints prices by hour of the week on the grid', async () => {
    const { engine, user } = await openSettings();
    await user.type(screen.getByLabelText('Electricity price (USD per kWh)'), '0.30');
    await user.click(screen.getByRole('switch', { name: 'The price changes by hour of the week' }));
    await user.type(screen.getByLabelText('Price to paint hours with (USD per kWh)'), '0.12');
    fireEvent.mouseDown(screen.getByRole('button', { name: 'Monday 02:00: 0.30 USD a kWh' }));
    fireEvent.mouseEnter(screen.getByRole('button', { name: 'Monday 03:00: 0.30 USD a kWh' }));
    fireEvent.mouseUp(screen.getByRole('group', { name: /Electricity prices by hour/ }));
    expect(screen.getByRole('button', { name: 'Monday 03:00: 0.12 USD a kWh' })).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await waitFor(() => expect(callsOf(engine, 'updateSettings')).toHaveLength(1));
    const saved = callsOf(engine, 'updateSettings')[0] as { electricity: { perKwh: number; byHour: number[][] } };
    expect(saved.electricity.perKwh).toBe(300_000);
    expect(saved.electricity.byHour[0]!.slice(1, 5)).toEqual([300_000, 120_000, 120_000, 300_000]);
    expect(saved.electricity.byHour.flat().filter((p) => p === 120_000)).toHaveLength(2);
  });
});
