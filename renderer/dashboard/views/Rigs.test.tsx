import { cleanup, screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { callsOf, fakeEngine, OTHER_RIG, renderDashboard, rigsOf } from '../testing.js';

afterEach(cleanup);

const openRigs = async (): Promise<void> => {
  await userEvent.click(await screen.findByRole('button', { name: /^Rigs/ }));
};

describe('Rigs', () => {
  it('lists every rig with its state, temperature and earnings, and says that alerts need another rig online', async () => {
    const engine = fakeEngine();
    engine.rigs = rigsOf({ rigs: [rigsOf().rigs[0]!, { ...rigsOf().rigs[1]!, online: false, heartbeatAt: new Date(Date.now() - 5 * 60_000).toISOString() }] });
    renderDashboard(engine);
    await openRigs();
    const list = await screen.findByRole('list', { name: 'Rigs' });
    const desk = within(list).getByRole('listitem', { name: 'desk-pc' });
    expect(desk.textContent).toMatch(/Offline, last heard 5 min/);
    expect(desk.textContent).toMatch(/Not earning while offline/);
    const garage = within(list).getByRole('listitem', { name: 'garage' });
    expect(garage.textContent).toMatch(/This PC/);
    expect(garage.textContent).toMatch(/64 °C/);
    expect(garage.textContent).toMatch(/Today 1\.5 IDLE \(7 tasks\) · this week 12\.25 IDLE/);
    expect(screen.getByRole('note').textContent).toMatch(/With one rig, or when all of them lose power, nobody hears it/);
  });

  it('pauses and renames another rig, and shows the commands this rig was given', async () => {
    const engine = fakeEngine();
    engine.rigs = rigsOf({ commands: [{ at: new Date().toISOString(), from: OTHER_RIG, fromName: 'desk-pc', action: 'pause', outcome: 'applied', reason: null }] });
    renderDashboard(engine);
    const user = userEvent.setup();
    await openRigs();
    const desk = await screen.findByRole('listitem', { name: 'desk-pc' });
    await user.click(within(desk).getByRole('button', { name: /Pause/ }));
    expect(callsOf(engine, 'commandRig')).toEqual([{ target: OTHER_RIG, action: 'pause' }]);
    expect(await screen.findByText(/Sent: pause desk-pc/)).toBeTruthy();
    await user.click(within(desk).getByRole('button', { name: 'Rename' }));
    const box = within(desk).getByLabelText('New name for desk-pc');
    await user.clear(box);
    await user.type(box, 'office');
    await user.click(within(desk).getByRole('button', { name: 'Save name' }));
    expect(callsOf(engine, 'commandRig').at(-1)).toEqual({ target: OTHER_RIG, action: 'rename', name: 'office' });
    expect(within(screen.getByRole('list', { name: 'Commands from other rigs' })).getByText('Paused from desk-pc')).toBeTruthy();
  });

  it('a rig not yet proven joins with a pairing code, and says plainly when the code is wrong', async () => {
    const engine = fakeEngine();
    engine.rigs = rigsOf({ status: 'not-in-fleet', message: 'this rig pays to 0x… but has not proven it', payoutAddress: null, rigs: [] });
    renderDashboard(engine);
    const user = userEvent.setup();
    await openRigs();
    await user.type(await screen.findByLabelText('Pairing code'), 'WRONG-CODE-1234');
    await user.click(screen.getByRole('button', { name: 'Join' }));
    expect((await screen.findByText(/unknown, used or expired/)).textContent).toBeTruthy();
    await user.clear(screen.getByLabelText('Pairing code'));
    await user.type(screen.getByLabelText('Pairing code'), 'ABCD-EFGH-JKLM');
    await user.click(screen.getByRole('button', { name: 'Join' }));
    expect(await screen.findByRole('list', { name: 'Rigs' })).toBeTruthy();
  });

  it('makes a pairing code for another rig', async () => {
    renderDashboard(fakeEngine());
    await openRigs();
    await userEvent.click(await screen.findByRole('button', { name: 'Make a pairing code' }));
    expect(await screen.findByText('ABCD-EFGH-JKLM')).toBeTruthy();
  });
});
