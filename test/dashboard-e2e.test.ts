/**
 * The dashboard end to end: a real devnet (anvil, hub, feeder), a real headless worker with
 * --dashboard, and headless Chromium. A first run sets up the wallet from the page, earnings
 * appear as tasks complete, the CSV export holds them, settings are kept across a restart of the
 * worker, and the page says so when the engine goes away. Screenshots of every view go to
 * test-output/screenshots/ (look at them).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { findChromium } from '../lib/software-gpu.js';
import { DASHBOARD_CSP, type CliEvent } from '../protocol/index.js';
import { ROOT, startCli, tempDir, type CliRun } from './helpers.js';

const SHOTS = join(ROOT, 'test-output', 'screenshots');
const NAV = { home: 'Home', earnings: 'Earnings', wallet: 'Wallet', gpus: 'GPUs', rigs: 'Rigs', settings: 'Settings', why: 'Why am I not earning?' } as const;

type Ready = Extract<CliEvent, { event: 'ready' }>;
const isReady = (e: CliEvent): e is Ready => e.event === 'ready';
const isDashboard = (e: CliEvent): e is Extract<CliEvent, { event: 'dashboard' }> => e.event === 'dashboard';
const isCredited = (e: CliEvent): e is Extract<CliEvent, { event: 'credited' }> => e.event === 'credited';

describe('dashboard end to end', () => {
  const dir = tempDir('dashboard');
  let devnet: CliRun;
  let ready: Ready;
  let worker: CliRun;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const startWorker = async (): Promise<string> => {
    worker = startCli(['worker', '--hub', ready.hub, '--rpc', ready.rpc!, '--data', join(dir.path, 'worker'), '--json', '--dashboard', '--idle-minutes', '0']);
    return (await worker.waitFor(isDashboard, 120_000)).url;
  };
  const stopWorker = async (): Promise<void> => {
    worker.child.kill('SIGINT');
    assert.equal(await worker.exit, 0, worker.stderr.join('\n'));
  };
  const open = async (url: string): Promise<void> => {
    const res = await page.goto(url);
    assert.equal(res?.headers()['content-security-policy'], DASHBOARD_CSP);
  };
  const view = async (name: keyof typeof NAV): Promise<void> => {
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('button', { name: new RegExp(`^${NAV[name].replace('?', '\\?')}`) }).click();
    await page.getByRole('heading', { level: 1, name: NAV[name] }).waitFor();
  };
  const shot = async (name: string): Promise<void> => {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    devnet = startCli(['devnet', '--json', '--data', join(dir.path, 'devnet')]);
    // The devnet and the worker's first start (which builds the dashboard when it is stale) together.
    ready = await devnet.waitFor(isReady, 120_000);
    const chromiumLaunch = await findChromium();
    browser = await chromium.launch({
      executablePath: chromiumLaunch.executablePath,
      env: chromiumLaunch.env,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
    page.on('console', (m) => {
      // Refused calls and reconnects while the worker restarts show as failed loads; anything else
      // (a CSP violation, a React warning) is a defect.
      if ((m.type() === 'error' || m.type() === 'warning') && !/Failed to load resource|WebSocket connection to .* failed/.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
  });
  after(async () => {
    await browser?.close();
    if (worker && worker.child.exitCode === null) worker.child.kill('SIGKILL');
    devnet?.child.kill('SIGINT');
    await devnet?.exit;
    dir.remove();
  });

  it('a first run: one click creates the wallet, and earnings appear as tasks complete', { timeout: 180_000 }, async () => {
    await open(await startWorker());
    await page.getByRole('heading', { name: 'Choose where your earnings go' }).waitFor();
    assert.match((await page.getByRole('status').first().textContent()) ?? '', /Set up your wallet to start earning/);
    await shot('first-run');

    await page.getByRole('button', { name: 'Create my wallet' }).click();
    await page.getByText(/Wallet created: 0x[0-9a-fA-F]{40}/).waitFor({ timeout: 30_000 });
    await page.getByRole('heading', { name: 'Choose where your earnings go' }).waitFor({ state: 'detached' });
    // The engine signs in and works without a restart; the page follows its events, no reload.
    const today = page.getByRole('region', { name: 'Earned today' }).locator('.stat-value');
    await page.waitForFunction((el) => !!el && el.textContent !== '0 IDLE', await today.elementHandle(), { timeout: 90_000 });
    await worker.waitFor(isCredited);
    await shot('home');

    await view('earnings');
    await page.locator('table[aria-labelledby="history-title"] tbody tr').nth(1).waitFor({ timeout: 60_000 });
    await page.getByRole('img', { name: /IDLE from \d+ tasks? over the last 14 days/ }).waitFor();
    // A confirmed payout shows as paid earnings too, without waiting for the periodic reconcile.
    await page.locator('section[aria-labelledby="payouts-title"]').getByText('Confirmed').first().waitFor({ timeout: 90_000 });
    const paid = page.getByRole('region', { name: 'Paid' }).locator('.stat-value');
    await page.waitForFunction((el) => !!el && el.textContent !== '0 IDLE', await paid.elementHandle(), { timeout: 20_000 });
    await page.locator('table[aria-labelledby="history-title"]').getByText('Paid', { exact: true }).first().waitFor({ timeout: 20_000 });
    await shot('earnings');
  });

  it('exports the ledger as CSV, every credited task in it', { timeout: 60_000 }, async () => {
    const credited = worker.events.filter(isCredited);
    assert.ok(credited.length > 0);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    assert.match(download.suggestedFilename(), /^idleforge-earnings-\d{4}-\d\d-\d\d\.csv$/);
    const lines = readFileSync((await download.path())!, 'utf8').trim().split('\r\n');
    assert.equal(lines[0], 'date,task,kind,status,amount_IDLE,amount_base_units,gpu_seconds,hub,entry');
    const rows = lines.slice(1).map((l) => l.split(','));
    assert.ok(rows.length >= credited.length, `${rows.length} rows for ${credited.length} credited tasks`);
    for (const row of rows) {
      assert.equal(row.length, 9);
      assert.match(row[3]!, /^(pending|verified|paid|rejected)$/);
    }
    for (const c of credited) {
      const row = rows.find((r) => r[1] === c.taskId);
      assert.ok(row, `task ${c.taskId} is in the CSV`);
      assert.equal(row[5], c.amount);
      assert.match(row[6]!, /^\d+\.\d{3}$/, 'its GPU time was measured here');
    }
  });

  it("opens a task's receipt, and checks the payouts against the chain", { timeout: 90_000 }, async () => {
    const history = page.locator('table[aria-labelledby="history-title"]');
    await history.getByRole('button', { name: 'Receipt' }).first().click();
    const receipt = page.locator('dl.receipt').first();
    await receipt.getByText('How the hub checked it').waitFor();
    assert.match((await receipt.textContent()) ?? '', /Freivalds' check|Every nonce rehashed|Another worker|Waiting for another worker|Spot check/);
    assert.match((await receipt.textContent()) ?? '', /(FLOP|hashes), [0-9.]+ (ms|s) of GPU time here/, 'what was done: its size and GPU time');
    // The devnet's payouts to this wallet, matched with the token's transfers on anvil. A payout
    // sent a moment ago may not be mined yet: the check is asked again until it settles.
    const chain = page.locator('section[aria-labelledby="chain-title"]');
    let verdict = '';
    for (let i = 0; i < 20 && !/agree/.test(verdict); i++) {
      await chain.getByRole('button', { name: 'Check against the chain' }).click();
      await chain.locator('.chain-verdict').waitFor({ timeout: 30_000 });
      verdict = (await chain.locator('.chain-verdict').textContent()) ?? '';
      if (!/agree/.test(verdict)) await new Promise((r) => setTimeout(r, 1000));
    }
    assert.match(verdict, /^The ledger and the chain agree: \d+ payouts?, each found on chain with the same amount\.$/);
    await shot('earnings-receipt-chain');
  });

  it('checks settings in plain words, saves them, and keeps them across a restart', { timeout: 180_000 }, async () => {
    await view('settings');
    const limit = page.getByLabel('Temperature limit');
    await limit.fill('120');
    await page.getByText('the limit can be at most 100 °C').waitFor();
    await limit.fill('75');
    await page.getByLabel('Cool-down margin').fill('7');
    await page.getByLabel('Program to block, or filter the running ones').fill('blender.exe');
    await page.getByRole('button', { name: 'Block it' }).click();
    await page.getByRole('radiogroup', { name: 'Custom cap' }).getByText('75 %').click();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Settings saved.').waitFor();
    await shot('settings');

    await stopWorker();
    await page.getByText(/engine is not answering/).first().waitFor({ timeout: 30_000 });
    await shot('offline');

    await open(await startWorker());
    await view('settings');
    assert.equal(await page.getByLabel('Temperature limit').inputValue(), '75');
    assert.equal(await page.getByLabel('Cool-down margin').inputValue(), '7');
    await page.getByRole('list', { name: 'Your blocked programs' }).getByText('blender.exe').waitFor();
    assert.equal(await page.getByRole('radiogroup', { name: 'Custom cap' }).getByRole('radio', { name: '75 %' }).isChecked(), true);
    // The wallet was kept too: no setup, the address shown.
    await view('wallet');
    await page.getByRole('heading', { name: 'Your wallet' }).waitFor();
    await shot('wallet');
  });

  it('shows every view with data, and nothing in the console', { timeout: 90_000 }, async () => {
    await view('gpus');
    await page.getByText('Runs the tasks').waitFor();
    await shot('gpus');
    // Rigs: this PC among its fleet (itself alone), a pairing code for another, and the plain word on alerts.
    await view('rigs');
    await page.getByText('This PC', { exact: true }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Make a pairing code' }).click();
    await page.getByText(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/).waitFor();
    await page.getByText(/nobody hears it/).waitFor();
    await shot('rigs');
    await view('why');
    await page.getByRole('heading', { name: 'What the worker checks' }).waitFor();
    await page.locator('.timeline-item').first().waitFor();
    await shot('why');
    await view('home');
    await page.getByRole('region', { name: 'Earned today' }).waitFor();
    await shot('home-after-restart');
    assert.deepEqual(problems, []);
  });
});
