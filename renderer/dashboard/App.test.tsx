import { act, cleanup, screen } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineApiError } from '../../protocol/engine-api.js';
import { fakeEngine, renderDashboard } from './testing.js';
import { BAD_TOKEN } from './transport.js';

afterEach(cleanup);

describe('the dashboard frame', () => {
  it('moves between views by keyboard, marks the current one, and takes the focus to its title', async () => {
    renderDashboard(fakeEngine());
    const user = userEvent.setup();
    await screen.findByText('Working on a matmul task');
    const home = screen.getByRole('button', { name: 'Home' });
    expect(home.getAttribute('aria-current')).toBe('page');
    home.focus();
    await user.tab();
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Earnings' }));
    await user.keyboard('{Enter}');
    expect(screen.getByRole('button', { name: 'Earnings' }).getAttribute('aria-current')).toBe('page');
    expect(document.activeElement).toBe(screen.getByRole('heading', { level: 1, name: 'Earnings' }));
  });

  it('shows a banner while the engine is offline, keeping what it knew', async () => {
    const engine = fakeEngine();
    renderDashboard(engine);
    await screen.findByText('Working on a matmul task');
    act(() => engine.setConnection('offline'));
    expect(screen.getByRole('alert').textContent).toMatch(/engine is not answering/);
    expect(screen.getByText('Working on a matmul task')).toBeTruthy();
    act(() => engine.setConnection('online'));
    expect(screen.queryByText(/engine is not answering/)).toBeNull();
  });

  it('says so when the link is out of date', async () => {
    const engine = fakeEngine();
    engine.failNext.getStatus = new EngineApiError(BAD_TOKEN, 'This dashboard address is out of date: the worker restarted and printed a new one. Open that address.');
    renderDashboard(engine);
    expect(await screen.findByRole('heading', { name: 'This link is out of date' })).toBeTruthy();
  });

  it('lists the GPUs with memory, driver, temperature and score', async () => {
    renderDashboard(fakeEngine());
    await userEvent.click(await screen.findByRole('button', { name: 'GPUs' }));
    const card = await screen.findByRole('region', { name: 'GeForce RTX 4070' });
    expect(card.textContent).toMatch(/12 GB/);
    expect(card.textContent).toMatch(/560\.1/);
    expect(card.textContent).toMatch(/64 °C \(limit 80 °C\)/);
    expect(card.textContent).toMatch(/20500 GFLOP\/s/);
  });
});
