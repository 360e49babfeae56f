import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Contract, JsonRpcProvider, Wallet } from 'ethers';
import { ANVIL_KEYS } from '../anvil.js';
import { startTestChain } from '../testkit.js';
import { TOKEN_ARTIFACT_PATH, tokenArtifact } from './artifact.js';
import { compileToken, formatArtifact } from './build.js';

describe('the Idleforge token contract', () => {
  it('the committed artifact is exactly what solc-js compiles from the source today', () => {
    assert.equal(readFileSync(TOKEN_ARTIFACT_PATH, 'utf8'), formatArtifact(compileToken()), 'run: node --import tsx hub/contracts/build.ts');
  });

  it('behaves as a standard ERC-20 on anvil', async () => {
    const chain = await startTestChain();
    const provider = new JsonRpcProvider(chain.rpcUrl, 31337, { staticNetwork: true });
    try {
      const treasury = new Wallet(chain.treasuryKey, provider);
      const token = new Contract(chain.token, tokenArtifact().abi as never, treasury);
      assert.equal(await token.getFunction('symbol')(), 'IDLE');
      assert.equal(await token.getFunction('decimals')(), 18n);
      assert.equal(await token.getFunction('totalSupply')(), 10n ** 27n);
      assert.equal(await token.getFunction('balanceOf')(chain.treasury), 10n ** 24n);
      const to = Wallet.createRandom().address;
      await (await token.getFunction('transfer')(to, 5n)).wait();
      assert.equal(await chain.balanceOf(to), 5n);
      assert.deepEqual(
        (await chain.transfersTo(to)).map((t) => [t.from, t.value]),
        [[chain.treasury, 5n]],
      );
      // No more than one has: the transfer reverts and nothing moves.
      const poor = new Contract(chain.token, tokenArtifact().abi as never, new Wallet(ANVIL_KEYS[2], provider));
      await assert.rejects(poor.getFunction('transfer')(to, 1n), /InsufficientBalance|revert/);
      assert.equal(await chain.balanceOf(to), 5n);
    } finally {
      provider.destroy();
      await chain.stop();
    }
  });
});
