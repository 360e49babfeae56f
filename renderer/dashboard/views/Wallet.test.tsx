import { cleanup, screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { ADDRESS, callsOf, fakeEngine, renderDashboard } from '../testing.js';

afterEach(cleanup);

describe('Wallet', () => {
  it('shows the address to copy and the balance', async () => {
    renderDashboard(fakeEngine());
    await userEvent.click(await screen.findByRole('button', { name: /^Wallet/ }));
    expect(await screen.findByText(ADDRESS)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Copy the payout address' })).toBeTruthy();
    expect(await screen.findByText('3 IDLE')).toBeTruthy();
  });

  it('reveals the phrase only after an explicit confirmation, then checks three words of it', async () => {
    const engine = fakeEngine();
    renderDashboard(engine);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: /^Wallet/ }));
    const show = await screen.findByRole('button', { name: 'Show my recovery phrase' });
    expect((show as HTMLButtonElement).disabled).toBe(true);
    expect(callsOf(engine, 'revealPhrase')).toHaveLength(0);
    await user.click(screen.getByRole('checkbox', { name: /Nobody can see my screen/ }));
    await user.click(show);
    expect(callsOf(engine, 'revealPhrase')).toEqual([{ confirm: true }]);
    const words = within(await screen.findByRole('list', { name: 'Recovery phrase' })).getAllByRole('listitem');
    expect(words).toHaveLength(12);
    await user.click(screen.getByRole('button', { name: 'I wrote it down' }));
    await user.type(await screen.findByLabelText('Word 2'), 'ability');
    await user.type(screen.getByLabelText('Word 5'), 'above');
    await user.type(screen.getByLabelText('Word 11'), 'wrong');
    await user.click(screen.getByRole('button', { name: 'Check my backup' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/Some words do not match/);
    await user.clear(screen.getByLabelText('Word 11'));
    await user.type(screen.getByLabelText('Word 11'), 'access');
    await user.click(screen.getByRole('button', { name: 'Check my backup' }));
    expect(callsOf(engine, 'confirmBackup').at(-1)).toEqual({ words: { '2': 'ability', '5': 'above', '11': 'access' } });
    expect(await screen.findByText(/Backup checked/)).toBeTruthy();
    expect(await screen.findByText('Backed up')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Show my recovery phrase' })).toBeNull();
  });
});
