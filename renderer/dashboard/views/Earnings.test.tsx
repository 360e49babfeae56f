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

  it('pages the payouts, newest first, with their transaction hashes', async () => {
    const payouts = Array.from({ length: 23 }, (_, i) => ({
      hub: 'http://127.0.0.1:9',
      id: String(23 - i),
      amount: '300000000000000',
      status: 'confirmed' as const,
      txHash: `0x${(23 - i).toString(16).padStart(64, '0')}`,
      createdAt: new Date(Date.UTC(2026, 0, 5, 12, 0, 23 - i)).toISOString(),
    }));
    const engine = fakeEngine({ entries, payouts });
    renderDashboard(engine);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Earnings' }));
    const rows = async (n: number) => waitFor(() => expect(within(screen.getByRole('table', { name: 'Payouts' })).getAllByRole('row')).toHaveLength(n + 1));
    await rows(10);
    const pager = within(screen.getByRole('navigation', { name: 'Payout pages' }));
    expect(pager.getByRole('button', { name: '← Newer' })).toHaveProperty('disabled', true);
    await user.click(pager.getByRole('button', { name: 'Older →' }));
    await rows(10);
    expect(callsOf(engine, 'getPayouts').at(-1)).toEqual({ limit: 10, cursor: '14' });
    await user.click(pager.getByRole('button', { name: 'Older →' }));
    await rows(3);
    expect(pager.getByRole('button', { name: 'Older →' })).toHaveProperty('disabled', true);
    expect(pager.getByText('Page 3 · 10 per page')).toBeTruthy();
    await user.click(pager.getByRole('button', { name: '← Newer' }));
    await rows(10);
    expect(callsOf(engine, 'getPayouts').at(-1)).toEqual({ limit: 10, cursor: '14' });
  });

  it('over HTTP, downloads the CSV as the engine streams it, without asking for the text', async () => {
    const engine = fakeEngine({ entries, csvUrl: 'http://127.0.0.1:7/api/v1/earnings.csv?token=t' });
    renderDashboard(engine);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Earnings' }));
    const hrefs: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      hrefs.push(this.href);
    });
    await user.click(await screen.findByRole('button', { name: 'Export CSV' }));
    await waitFor(() => expect(click).toHaveBeenCalled());
    expect(hrefs).toEqual(['http://127.0.0.1:7/api/v1/earnings.csv?token=t']);
    expect(callsOf(engine, 'exportEarningsCsv')).toHaveLength(0);
    expect(await screen.findByText(/Downloading your earnings as CSV/)).toBeTruthy();
    click.mockRestore();
  });
});
