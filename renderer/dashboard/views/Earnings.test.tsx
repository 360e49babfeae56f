import { cleanup, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EngineApiError } from '../../../protocol/engine-api.js';
import { callsOf, entry, fakeEngine, reconciliationOf, renderDashboard } from '../testing.js';

afterEach(cleanup);

const entries = Array.from({ length: 20 }, (_, i) => entry(20 - i, i === 1 ? { status: 'rejected', amount: '0', kind: 'hashsearch', gpuMs: null } : {}));

async function openEarnings(list = entries) {
  const engine = fakeEngine({ entries: list });
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

  it('opens a receipt per task: what was done, how the hub checked it, the verdict and why', async () => {
    const { user } = await openEarnings([
      entry(3, { kind: 'hashsearch', status: 'rejected', amount: '0', work: { units: '1048576', unit: 'hashes' }, check: { method: 'rehash', nonces: 1024 }, reason: 'nonce 17 does not hash under the target' }),
      entry(2, { id: 'local-4', status: 'lapsed', amount: '0', check: null, reason: 'Its lease ran out before the result reached the hub (your lease on this task has ended).' }),
      entry(1),
    ]);
    const table = within(await screen.findByRole('table', { name: 'History' }));
    expect(table.getByText('Lapsed')).toBeTruthy();
    const buttons = table.getAllByRole('button', { name: 'Receipt' });
    expect(buttons).toHaveLength(3);
    expect(screen.queryByRole('definition')).toBeNull();

    await user.click(buttons[0]!);
    const rejected = within(screen.getByLabelText('Receipt of task task_3'));
    expect(rejected.getByText('A hashsearch task of 1,048,576 hashes, 1.5 s of GPU time here.')).toBeTruthy();
    expect(rejected.getByText('Every nonce rehashed by the hub, and 1,024 nonces of the range searched again by the hub itself.')).toBeTruthy();
    expect(rejected.getByText(/^Rejected: The hub found the result wrong/)).toBeTruthy();
    expect(rejected.getByText('nonce 17 does not hash under the target')).toBeTruthy();
    expect(buttons[0]!.getAttribute('aria-expanded')).toBe('true');

    await user.click(buttons[1]!);
    const lapsed = within(screen.getByLabelText('Receipt of task task_2'));
    expect(lapsed.getByText('Not checked: the hub has no result of it.')).toBeTruthy();
    expect(lapsed.getByText(/^Its lease ran out before the result reached the hub/)).toBeTruthy();

    await user.click(buttons[2]!);
    const credited = within(screen.getByLabelText('Receipt of task task_1'));
    expect(credited.getByText('A matmul task of 268.43 MFLOP, 1.5 s of GPU time here.')).toBeTruthy();
    expect(credited.getByText(/^Freivalds' check: the hub multiplied the result by 2 secret random vectors/)).toBeTruthy();
    expect(credited.queryByText('Why')).toBeNull();
    await user.click(table.getAllByRole('button', { name: 'Hide receipt' })[0]!);
    expect(screen.queryByLabelText('Receipt of task task_3')).toBeNull();
  });

  it('checks against the chain: progress, then the totals and every difference, other senders apart', async () => {
    const { engine, user } = await openEarnings();
    expect(screen.getByText(/Compares every payout the hub says it sent to your payout address/)).toBeTruthy();
    engine.reconciliation = reconciliationOf({
      ledgerTotal: '2000000000000000000',
      chainTotal: '2500000000000000000',
      matched: 2,
      payouts: { mine: 1, others: 1 },
      differences: [
        { kind: 'unknown-transfer', txHash: `0x${'ab'.repeat(32)}`, ledgerAmount: null, chainAmount: '500000000000000000', blockNumber: 30, explanation: "The hub's treasury sent 500000000000000000 base units to this address in a transaction that none of the hub's payouts names." },
      ],
      otherSenders: [{ txHash: `0x${'cd'.repeat(32)}`, logIndex: 0, blockNumber: 31, from: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', amount: '7000000000000000000' }],
      otherTotal: '7000000000000000000',
      agrees: false,
    });
    await user.click(screen.getByRole('button', { name: 'Check against the chain' }));
    expect(await screen.findByText('The ledger and the chain differ in 1 place.')).toBeTruthy();
    expect(callsOf(engine, 'reconcileEarnings')).toHaveLength(1);
    expect(screen.getByText(/2 IDLE paid to .* \(1 payouts of this machine, 1 of your other machines\)/)).toBeTruthy();
    expect(screen.getByText(/2\.5 IDLE from the hub's treasury/)).toBeTruthy();
    const differences = within(screen.getByRole('list', { name: 'Differences' }));
    expect(differences.getByText('Transfer the ledger does not know')).toBeTruthy();
    const others = within(screen.getByRole('list', { name: 'Transfers from other senders' }));
    expect(others.getByText(/7 IDLE from/)).toBeTruthy();
  });

  it('says when the ledger and the chain agree, and when the check cannot be made', async () => {
    const { engine, user } = await openEarnings();
    engine.failNext.reconcileEarnings = new EngineApiError('CHAIN_UNREACHABLE', 'could not read the chain at http://127.0.0.1:8545: connection refused');
    await user.click(screen.getByRole('button', { name: 'Check against the chain' }));
    expect(await screen.findByText('Could not check against the chain: could not read the chain at http://127.0.0.1:8545: connection refused')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText('The ledger and the chain agree: 1 payout, each found on chain with the same amount.')).toBeTruthy();
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

describe('Earnings: gross, electricity and net', () => {
  it('shows each day’s gross, worth, energy, electricity and net, estimated energy labelled; switches to weeks', async () => {
    const { engine, user } = await openEarnings();
    const table = within(await screen.findByRole('table', { name: 'Gross, electricity and net by day' }));
    expect(table.getAllByRole('row')).toHaveLength(2); // header + the one day with anything in it
    expect(table.getByText('2.5 IDLE')).toBeTruthy();
    expect(table.getByText('0.025 EUR')).toBeTruthy();
    expect(table.getByText('1.534 kWh')).toBeTruthy();
    expect(table.getByText('(estimated)')).toBeTruthy();
    expect(table.getByText('0.46 EUR')).toBeTruthy();
    expect(table.getByText('-0.435 EUR')).toBeTruthy();
    await user.click(within(screen.getByRole('radiogroup', { name: 'Group costs' })).getByText('Weeks'));
    await waitFor(() => expect(callsOf(engine, 'getEnergySeries').at(-1)).toMatchObject({ bucket: 'week' }));
    expect(await screen.findByRole('table', { name: 'Gross, electricity and net by week' })).toBeTruthy();
  });

  it('exports the costs by day as CSV', async () => {
    const { engine, user } = await openEarnings();
    const created = vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:costs');
    await user.click(await screen.findByRole('button', { name: 'Costs CSV' }));
    expect(callsOf(engine, 'exportCostsCsv')).toHaveLength(1);
    expect(await screen.findByText('Saved idleforge-costs-2026-01-05.csv.')).toBeTruthy();
    created.mockRestore();
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
    // …and in its receipt.
    await userEvent.click(table.getAllByRole('button', { name: 'Receipt' })[0]!);
    const receipt = within(screen.getByLabelText(`Receipt of task ${rendered[0]!.taskId}`));
    expect(receipt.getByRole('img', { name: `The tile task ${rendered[0]!.taskId} rendered` })).toBeTruthy();
  });
});
