/**
 * The wallet end to end: a canary key imported into a worker never shows in anything the worker
 * prints or its API answers, nor in any file of its data directory, in any encoding.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { ENGINE_METHODS, type CliEvent } from '../protocol/index.js';
import { runCli, startCli, tempDir } from './helpers.js';

describe('wallet end to end', () => {
  it('a canary key never appears in output, API answers or files', async () => {
    const dir = tempDir('canary');
    const canary = Wallet.createRandom();
    const forms = [canary.privateKey, canary.privateKey.slice(2), canary.privateKey.slice(2).toUpperCase(), Buffer.from(canary.privateKey.slice(2), 'hex').toString('base64')];
    const seen: string[] = [];
    const devnet = startCli(['devnet', '--json', '--data', join(dir.path, 'devnet')]);
    try {
      const data = join(dir.path, 'worker');
      const imported = await runCli(['wallet', 'import', '--data', data, '--json'], {}, `${canary.privateKey}\n`);
      assert.equal(imported.code, 0, imported.stderr);
      assert.deepEqual(JSON.parse(imported.stdout), { address: canary.address });
      seen.push(imported.stdout, imported.stderr);
      const show = await runCli(['wallet', 'show', '--data', data, '--json']);
      assert.equal((JSON.parse(show.stdout) as { address: string }).address, canary.address);
      seen.push(show.stdout, show.stderr);

      const ready = await devnet.waitFor((e): e is Extract<CliEvent, { event: 'ready' }> => e.event === 'ready');
      const worker = startCli(['worker', '--hub', ready.hub, '--data', data, '--json', '--dashboard', '--idle-minutes', '0', '--once', '2']);
      const dash = await worker.waitFor((e): e is Extract<CliEvent, { event: 'dashboard' }> => e.event === 'dashboard');
      const signedIn = await worker.waitFor((e): e is Extract<CliEvent, { event: 'signed-in' }> => e.event === 'signed-in');
      assert.equal(signedIn.address, canary.address, 'the worker signs in with the imported wallet');
      const origin = dash.url.replace(/\/#.*/, '');
      const token = dash.url.replace(/.*token=/, '');
      for (const method of ENGINE_METHODS) {
        const params = method === 'revealPhrase' ? { confirm: true } : method === 'snooze' ? { for: '30m' } : method === 'confirmBackup' ? { words: { 1: 'a', 2: 'b', 3: 'c' } } : {};
        if (method === 'pause' || method === 'snooze') continue; // the worker must go on to finish
        const res = await fetch(`${origin}/api/v1/${method}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(params) });
        seen.push(await res.text());
      }
      seen.push(await (await fetch(`${origin}/api/v1/earnings.csv?token=${token}`)).text());
      assert.equal(await worker.exit, 0, worker.stderr.join('\n'));
      seen.push(JSON.stringify(worker.events), worker.stderr.join('\n'));
      for (const text of seen) for (const form of forms) assert.ok(!text.includes(form), 'the canary key leaked into output or an API answer');
      for (const name of readdirSync(data, { recursive: true }) as string[]) {
        let content: Buffer;
        try {
          content = readFileSync(join(data, name));
        } catch {
          continue;
        }
        for (const form of forms) assert.ok(!content.toString('latin1').includes(form), `${name} holds the canary key`);
        assert.ok(!content.includes(Buffer.from(canary.privateKey.slice(2), 'hex')), `${name} holds the canary key's bytes`);
      }
    } finally {
      devnet.child.kill('SIGINT');
      await devnet.exit;
      dir.remove();
    }
  });
});
