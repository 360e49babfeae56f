import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { HealthSchema, LoginResponseSchema, OkSchema, parseSiweMessage } from '../protocol/index.js';
import { NONCE_TTL_MS, SESSION_TTL_MS } from './auth.js';
import { call, challenge, errorOf, signIn, startTestHub, type TestHub } from './testkit.js';

describe('worker sign-in (EIP-4361)', () => {
  let t: TestHub;
  let url: string;
  const wallet = Wallet.createRandom();

  before(async () => {
    t = await startTestHub();
    url = t.hub.url;
  });
  after(() => t.close());

  const login = (message: string, signature: string) => call(`${url}/v1/auth/login`, { body: { message, signature } });
  const heartbeat = (token: string) =>
    call(`${url}/v1/workers/heartbeat`, { token, body: { appVersion: '0.1.0', state: 'waiting', gpus: [] } });

  it('serves health with the chain id and no token contract yet', async () => {
    const r = await call(`${url}/v1/health`);
    assert.equal(r.status, 200);
    const h = HealthSchema.parse(r.body);
    assert.equal(h.chainId, 31337);
    assert.deepEqual(h.token, { address: null, symbol: 'IDLE', decimals: 18 });
    assert.equal(h.treasury, null, 'no chain: no treasury to pay from');
  });

  it('hands out a challenge for this hub, chain and address', async () => {
    const message = await challenge(url, wallet.address.toLowerCase());
    const f = parseSiweMessage(message);
    assert.ok(f);
    assert.equal(f.domain, new URL(url).host);
    assert.equal(f.uri, url);
    assert.equal(f.chainId, 31337);
    assert.equal(f.address, wallet.address, 'the address is EIP-55 checksummed');
    assert.ok(f.expirationTime);
    assert.equal(Date.parse(f.expirationTime) - Date.parse(f.issuedAt), NONCE_TTL_MS);
  });

  it('signs in with a wallet and the token works for an hour', async () => {
    const message = await challenge(url, wallet.address);
    const r = await login(message, await wallet.signMessage(message));
    assert.equal(r.status, 200);
    const { token, expiresAt } = LoginResponseSchema.parse(r.body);
    assert.equal(Date.parse(expiresAt), t.clock.t + SESSION_TTL_MS);
    const hb = await heartbeat(token);
    assert.equal(hb.status, 200);
    OkSchema.parse(hb.body);
    const row = (await t.hub.db.query<{ last_heartbeat: string }>('SELECT last_heartbeat FROM workers WHERE address = ?', [wallet.address])).rows[0]!;
    assert.equal(JSON.parse(row.last_heartbeat).state, 'waiting');
    const stored = (await t.hub.db.query<{ token_hash: string }>('SELECT token_hash FROM sessions')).rows;
    assert.ok(stored.every((s) => s.token_hash !== token), 'only the hash of the token is stored');

    t.clock.advance(SESSION_TTL_MS + 1);
    const late = await heartbeat(token);
    assert.equal(late.status, 401);
    assert.equal(errorOf(late).code, 'SESSION_EXPIRED');
  });

  it('refuses a replayed nonce', async () => {
    const message = await challenge(url, wallet.address);
    const signature = await wallet.signMessage(message);
    assert.equal((await login(message, signature)).status, 200);
    const again = await login(message, signature);
    assert.equal(again.status, 401);
    assert.equal(errorOf(again).code, 'NONCE_USED');
  });

  it('refuses an expired nonce', async () => {
    const message = await challenge(url, wallet.address);
    const signature = await wallet.signMessage(message);
    t.clock.advance(NONCE_TTL_MS + 1000);
    const r = await login(message, signature);
    assert.equal(r.status, 401);
    assert.equal(errorOf(r).code, 'NONCE_EXPIRED');
  });

  it('refuses another domain, chain id or URI, even when properly signed', async () => {
    const cases: [string, (m: string) => string, string][] = [
      ['domain', (m) => m.replace(new URL(url).host, 'evil.example'), 'WRONG_DOMAIN'],
      ['chain id', (m) => m.replace('Chain ID: 31337', 'Chain ID: 1'), 'WRONG_CHAIN'],
      ['uri', (m) => m.replace(`URI: ${url}`, 'URI: https://evil.example'), 'WRONG_URI'],
    ];
    for (const [what, edit, code] of cases) {
      const message = edit(await challenge(url, wallet.address));
      const r = await login(message, await wallet.signMessage(message));
      assert.equal(r.status, 401, what);
      assert.equal(errorOf(r).code, code, what);
    }
  });

  it('refuses a bad signature, a signature by someone else and an unknown nonce', async () => {
    const message = await challenge(url, wallet.address);
    const other = Wallet.createRandom();
    const byOther = await login(message, await other.signMessage(message));
    assert.equal(byOther.status, 401);
    assert.equal(errorOf(byOther).code, 'BAD_SIGNATURE');
    const garbage = await login(message, `0x${'11'.repeat(65)}`);
    assert.equal(garbage.status, 401);
    assert.equal(errorOf(garbage).code, 'BAD_SIGNATURE');
    // The nonce survives failed attempts: the real owner can still use it.
    assert.equal((await login(message, await wallet.signMessage(message))).status, 200);

    const forged = message.replace(/Nonce: [A-Za-z0-9]+/, 'Nonce: abcdefgh12345678');
    const unknown = await login(forged, await wallet.signMessage(forged));
    assert.equal(unknown.status, 401);
    assert.equal(errorOf(unknown).code, 'UNKNOWN_NONCE');
  });

  it('refuses a nonce issued to another address', async () => {
    const other = Wallet.createRandom();
    const message = await challenge(url, wallet.address);
    const swapped = message.replace(wallet.address, other.address);
    const r = await login(swapped, await other.signMessage(swapped));
    assert.equal(r.status, 401);
    assert.equal(errorOf(r).code, 'NONCE_MISMATCH');
  });

  it('refuses worker endpoints without a valid token', async () => {
    const none = await call(`${url}/v1/earnings`);
    assert.equal(none.status, 401);
    assert.equal(errorOf(none).code, 'NOT_SIGNED_IN');
    const wrong = await call(`${url}/v1/tasks/lease`, { token: 'f'.repeat(64), body: { kinds: ['matmul'] } });
    assert.equal(wrong.status, 401);
    assert.equal(errorOf(wrong).code, 'SESSION_EXPIRED');
    const token = await signIn(url, wallet);
    assert.equal((await call(`${url}/v1/payouts`, { token })).status, 200);
  });
});
