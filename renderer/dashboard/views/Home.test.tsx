import { act, cleanup, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { callsOf, fakeEngine, outlookOf, renderDashboard, statusOf } from '../testing.js';

afterEach(cleanup);

describe('Home', () => {
  it('says the state in one sentence in a live region, with earnings and the temperature against its limit', async () => {
    renderDashboard(fakeEngine());
    const sentence = await screen.findByText('Working on a matmul task');
    expect(sentence.getAttribute('role')).toBe('status');
    expect(sentence.getAttribute('aria-live')).toBe('polite');
    expect(screen.getByText('1.5 IDLE')).toBeTruthy();
    expect(screen.getByText('12.25 IDLE')).toBeTruthy();
    expect(screen.getByRole('img', { name: 'GPU at 64 °C, limit 80 °C' })).toBeTruthy();
    expect(screen.getByRole('progressbar', { name: 'Progress of the matmul task' })).toBeTruthy();
  });

  it('pauses with the big button and then offers to resume; a status event updates the sentence', async () => {
    const engine = fakeEngine();
    renderDashboard(engine);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Pause earning' }));
    expect(callsOf(engine, 'pause')).toHaveLength(1);
    expect(await screen.findByRole('button', { name: 'Resume earning' })).toBeTruthy();
    expect(screen.getByText('Paused by you')).toBeTruthy();
    act(() => engine.emit({ type: 'status', status: statusOf({ state: 'waiting', reason: 'Paused: Cyberpunk2077.exe is running', blockedBy: 'blocked-program', task: null }) }));
    expect(screen.getByText('Paused: Cyberpunk2077.exe is running')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Why am I not earning?' })).toBeTruthy();
  });

  it('snoozes with one click', async () => {
    const engine = fakeEngine();
    renderDashboard(engine);
    const snooze = within(await screen.findByRole('group', { name: 'Snooze' }));
    await userEvent.click(snooze.getByRole('button', { name: '1 hour' }));
    expect(callsOf(engine, 'snooze')).toEqual([{ for: '1h' }]);
  });

  it('on a first run, offers the one-click wallet and then shows the working engine', async () => {
    const engine = fakeEngine({ status: statusOf({ address: null, state: 'waiting', reason: 'Set up your wallet to start earning', blockedBy: 'no-wallet', task: null }) });
    renderDashboard(engine);
    expect(await screen.findByRole('heading', { name: 'Choose where your earnings go' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Pause earning' })).toBeNull();
    expect(callsOf(engine, 'getWallet')).toHaveLength(0);
    await userEvent.click(screen.getByRole('button', { name: 'Create my wallet' }));
    expect(callsOf(engine, 'createWallet')).toHaveLength(1);
    await waitFor(() => expect(screen.queryByRole('heading', { name: 'Choose where your earnings go' })).toBeNull());
    expect(await screen.findByText(/Wallet created: 0x1111/)).toBeTruthy();
  });

  it('says plainly when the engine cannot be reached', async () => {
    renderDashboard(fakeEngine({ down: true }));
    expect(await screen.findByText(/The Idleforge engine is not answering/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Try again' })).toBeTruthy();
  });
});

describe('credit toasts', () => {
  it('sum the credits that keep coming in one toast instead of stacking one per task', async () => {
    const engine = fakeEngine();
    renderDashboard(engine);
    await screen.findByText('Working on a matmul task');
    act(() => engine.emit({ type: 'credited', taskId: 't1', kind: 'matmul', amount: '500000000000000000' }));
    expect(await screen.findByText('+0.5 IDLE for a matmul task')).toBeTruthy();
    act(() => engine.emit({ type: 'credited', taskId: 't2', kind: 'matmul', amount: '250000000000000000' }));
    act(() => engine.emit({ type: 'credited', taskId: 't3', kind: 'hashsearch', amount: '250000000000000000' }));
    expect(await screen.findByText('+1 IDLE for 3 tasks')).toBeTruthy();
    expect(screen.queryByText('+0.5 IDLE for a matmul task')).toBeNull();
    expect(screen.getAllByRole('button', { name: 'Dismiss' })).toHaveLength(1);
  });

  it('shows thumbnails of the latest tiles rendered here, and says so plainly when there are none', async () => {
    const pixel = btoa(String.fromCharCode(...Array.from({ length: 3 * 4 * 3 }, (_, i) => (i * 20) & 255)));
    const previews = [
      { taskId: 'task_r2', kind: 'render', width: 4, height: 3, rgb: pixel, createdAt: '2026-01-05T10:01:00.000Z' },
      { taskId: 'task_r1', kind: 'render', width: 4, height: 3, rgb: pixel, createdAt: '2026-01-05T10:00:00.000Z' },
    ];
    const engine = fakeEngine({ previews });
    renderDashboard(engine);
    const tiles = within(await screen.findByRole('region', { name: 'Latest tiles rendered here' }));
    expect(await tiles.findAllByRole('img', { name: /^Tile of task task_r/ })).toHaveLength(2);
    expect(callsOf(engine, 'getTilePreviews')).toEqual([{ limit: 8 }]);
    cleanup();
    renderDashboard(fakeEngine());
    expect(await screen.findByText(/No tiles yet/)).toBeTruthy();
  });
});

describe('what it earns and costs, on Home', () => {
  it('says about how much it earns an hour now beside the last 24 hours, with its worth, draw and electricity', async () => {
    renderDashboard(fakeEngine());
    expect((await screen.findByTestId('rate-now')).textContent).toBe('about 36 IDLE an hour');
    expect(screen.getByTestId('rate-24h').textContent).toBe('30.5 IDLE');
    expect(screen.getByText(/From what its last 42 matmul tasks earned per hour of GPU time\./)).toBeTruthy();
    expect(screen.getByText(/Worth 0\.36 EUR an hour \(a token at 0\.01 EUR, the hub’s reference price: a test reference price\)/)).toBeTruthy();
    expect(screen.getByText(/Power: 215 W while working, measured by nvidia-smi/)).toBeTruthy();
    expect(screen.getByText(/Electricity: 0\.0645 EUR an hour at 0\.30 EUR a kWh\./)).toBeTruthy();
  });

  it('before the first task: an estimate from the GPU’s model, labelled, and nothing earned yet', async () => {
    const engine = fakeEngine();
    engine.outlook = outlookOf({ speed: { gflops: 11920, mhs: 7152, basis: 'model' }, estimate: { perHour: '36000000000000000000', kind: 'matmul', inDemand: true, from: 'model', tasks: 0 }, last24h: '0', power: { milliwatts: 320_000, source: 'estimate', basis: "estimated from NVIDIA GeForce RTX 3080's typical board power, 320 W at 100 % of the time" } });
    renderDashboard(engine);
    expect((await screen.findByTestId('rate-now')).textContent).toBe('about 36 IDLE an hour');
    expect(screen.getByText(/Estimated from its model: this GPU has not been measured yet/)).toBeTruthy();
    expect(screen.getByTestId('rate-24h').textContent).toBe('Nothing yet');
    expect(screen.getByText(/320 W while working, estimated \(estimated from NVIDIA GeForce RTX 3080's typical board power/)).toBeTruthy();
  });

  it('says why there is no estimate yet, and that no price is set', async () => {
    const engine = fakeEngine();
    engine.outlook = outlookOf({ estimate: null, speed: null, noEstimate: 'This GPU has not been measured yet (a few seconds, once work may start).', pricePerKwh: null, costPerHour: null, valuePerHour: null, tokenValue: null, unprofitable: null });
    renderDashboard(engine);
    expect(await screen.findByText('This GPU has not been measured yet (a few seconds, once work may start).')).toBeTruthy();
    expect(screen.getByText(/no price set \(Settings → What it costs\)/)).toBeTruthy();
    expect(screen.getByText(/set the token’s value in Settings/)).toBeTruthy();
  });
});
