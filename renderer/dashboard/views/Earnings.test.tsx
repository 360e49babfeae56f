import { cleanup, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { callsOf, entry, fakeEngine, renderDashboard } from '../testing.js';

afterEach(cleanup);

const entries = Array.from({ length: 20 }, (_, i) => entry(20 - i, i === 1 ? { status: 'rejected', amount: '0', kind: 'hashsearch', gpuMs: null } : {}));

async function openEarnings() {
  const engine = fakeEngine({ entries });
  renderDashboard(engine);
  const user = userEvent.setup();
  await user.click(await screen.findByRole('button', { name: 'Earnings' }));
  await screen.findByRole('heading', { name: 'History' });
  return { engine, user };
}

describe('Earnings', () => {
  it('lists tasks with kind, GPU time, amount and status, a page at a time', async () => {
    const { engine, user } = await openEarnings();
    const table = within(await screen.findByRole('table', { name: 'History' }));
    expect(table.getAllByRole('row')).toHaveLength(16); // header + 15
    expect(table.getAllByText('0.25 IDLE').length).toBeGreaterThan(0);
    expect(table.getAllByText('1.5 s').length).toBeGreaterThan(0);
    expect(table.getByText('Rejected')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Older →' }));
    await waitFor(() => expect(within(screen.getByRole('table', { name: 'History' })).getAllByRole('row')).toHaveLength(6));
    expect(callsOf(engine, 'getEarnings').at(-1)).toEqual({ limit: 15, cursor: '6' });
    await user.click(screen.getByRole('button', { name: '← Newer' }));
    await waitFor(() => expect(within(screen.getByRole('table', { name: 'History' })).getAllByRole('row')).toHaveLength(16));
  });

  it('filters by status and kind', async () => {
    const { engine, user } = await openEarnings();
    await user.selectOptions(screen.getByLabelText('Status'), 'rejected');
    await waitFor(() => expect(within(screen.getByRole('table', { name: 'History' })).getAllByRole('row')).toHaveLength(2));
    expect(callsOf(engine, 'getEarnings').at(-1)).toEqual({ limit: 15, status: 'rejected' });
    await user.selectOptions(screen.getByLabelText('Kind'), 'matmul');
    expect(await screen.findByText('No task matches these filters')).toBeTruthy();
  });

  it('draws the chart with a summary for screen readers and switches buckets', async () => {
    const { engine, user } = await openEarnings();
    expect(await screen.findByRole('img', { name: /0\.75 IDLE from 3 tasks over the last 1 day/ })).toBeTruthy();
    await user.click(screen.getByText('By week'));
    await waitFor(() => expect(callsOf(engine, 'getEarningsSeries').at(-1)).toMatchObject({ bucket: 'week' }));
  });

  it('exports the CSV as a file', async () => {
    const { engine, user } = await openEarnings();
    const created: Blob[] = [];
    URL.createObjectURL = vi.fn((b: Blob) => (created.push(b), 'blob:test'));
    URL.revokeObjectURL = vi.fn();
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {});
    await user.click(screen.getByRole('button', { name: 'Export CSV' }));
    await waitFor(() => expect(click).toHaveBeenCalled());
    expect(callsOf(engine, 'exportEarningsCsv')).toHaveLength(1);
    const text = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.readAsText(created[0]!);
    });
    expect(text).toBe('date,task\r\n');
    expect(await screen.findByText('Saved idleforge-earnings-2026-01-05.csv.')).toBeTruthy();
  });

  it("shows a rendered tile's thumbnail in its task's row", async () => {
    const rendered = [entry(2, { kind: 'render' }), entry(1)];
    const rgb = btoa(String.fromCharCode(...Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20)));
    const engine = fakeEngine({ entries: rendered, previews: [{ taskId: rendered[0]!.taskId, kind: 'render', width: 2, height: 2, rgb, createdAt: '2026-01-05T10:00:00.000Z' }] });
    renderDashboard(engine);
    await userEvent.click(await screen.findByRole('button', { name: 'Earnings' }));
    const table = within(await screen.findByRole('table', { name: 'History' }));
    expect(await table.findByRole('img', { name: `Tile of task ${rendered[0]!.taskId}` })).toBeTruthy();
    expect(table.getAllByRole('img')).toHaveLength(1);
    expect(callsOf(engine, 'getTilePreviews')).toContainEqual({ taskIds: rendered.map((e) => e.taskId) });
  });
});
