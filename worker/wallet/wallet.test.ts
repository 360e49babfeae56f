import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Mnemonic, Wallet } from 'ethers';
import { headlessPassphrase, type SecretStore } from './protection.js';
import { LEGACY_KEY_FILE, SECRET_FILE, WALLET_FILE, WalletVault } from './vault.js';

const TEST_PHRASE = 'test test test test test test test test test test test junk';
const TEST_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const dirs: string[] = [];
const temp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'idleforge-wallet-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const passphrase = headlessPassphrase({ env: { IDLEFORGE_PASSPHRASE: 'a long enough passphrase' }, interactive: false });
const vault = (dir: string, extra: Partial<ConstructorParameters<typeof WalletVault>[1]> = {}): WalletVault =>
  new WalletVault(dir, { passphrase, scryptN: 1 << 14, ...extra });

/** Every way a secret could sit in a file: plain, hex either case, base64, bytes. */
function encodings(secret: string): string[] {
  const bytes = secret.startsWith('0x') ? Buffer.from(secret.slice(2), 'hex') : Buffer.from(secret, 'utf8');
  return [secret, secret.replace(/^0x/, ''), secret.toUpperCase(), bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')].filter((s) => s.length >= 16);
}
function assertNoFileHolds(dir: string, secrets: string[]): void {
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    let content: Buffer;
    try {
      content = readFileSync(join(dir, name));
    } catch {
      continue; // a folder
    }
    const text = content.toString('latin1');
    for (const secret of secrets) {
      for (const form of encodings(secret)) {
        assert.ok(!text.includes(form), `${name} holds a secret (${form.slice(0, 6)}…)`);
        assert.ok(!content.includes(Buffer.from(form, 'utf8')));
      }
      if (secret.startsWith('0x')) assert.ok(!content.includes(Buffer.from(secret.slice(2), 'hex')), `${name} holds the raw key bytes`);
    }
  }
}

describe('wallet vault', () => {
  it('importing the well-known test phrase gives its well-known address, and the phrase can be revealed on confirmation', async () => {
    const dir = temp();
    const info = await vault(dir).importSecret(`  ${TEST_PHRASE.toUpperCase()}\n`);
    assert.equal(info.address, TEST_ADDRESS);
    assert.equal(info.hasPhrase, true);
    const reopened = vault(dir);
    await assert.rejects(reopened.revealPhrase(false), /explicit confirmation/);
    assert.equal(await reopened.revealPhrase(true), TEST_PHRASE);
    assertNoFileHolds(dir, [TEST_PHRASE, Wallet.fromPhrase(TEST_PHRASE).privateKey, Mnemonic.fromPhrase(TEST_PHRASE).entropy]);
  });

  it('imports a private key; refuses what is neither', async () => {
    const key = Wallet.createRandom().privateKey;
    const info = await vault(temp()).importSecret(key.slice(2));
    assert.equal(info.address, new Wallet(key).address);
    assert.equal(info.hasPhrase, false);
    await assert.rejects(vault(temp()).importSecret('correct horse battery staple'), /neither a valid recovery phrase/);
  });

  it('creates a wallet whose files hold neither key nor phrase, mode 0600, and checks the backup', async () => {
    const dir = temp();
    const v = vault(dir);
    const info = await v.create();
    const phrase = await v.revealPhrase(true);
    const signer = await v.unlock();
    assertNoFileHolds(dir, [phrase, signer.privateKey, Mnemonic.fromPhrase(phrase).entropy]);
    assert.equal(readFileSync(join(dir, WALLET_FILE)).length > 0, true);
    if (process.platform !== 'win32') assert.equal((await import('node:fs')).statSync(join(dir, WALLET_FILE)).mode & 0o777, 0o600);
    const words = phrase.split(' ');
    const positions = v.backupChallenge();
    assert.equal(positions.length, 3);
    assert.equal(await v.confirmBackup({ 1: words[0]!, 5: 'wrong', 9: words[8]! }), false);
    assert.equal(vault(dir).info()?.backedUp, false);
    assert.equal(await v.confirmBackup({ 1: words[0]!, 5: words[4]!, 9: words[8]! }), true);
    assert.equal(vault(dir).info()?.backedUp, true);
    assert.equal(vault(dir).info()?.address, info.address);
    await assert.rejects(vault(dir).create(), /already has a wallet/);
  });

  it('a wrong passphrase opens nothing; a passphrase file readable by others is refused', async () => {
    const dir = temp();
    await vault(dir).create();
    const wrong = new WalletVault(dir, { passphrase: headlessPassphrase({ env: { IDLEFORGE_PASSPHRASE: 'not the passphrase' }, interactive: false }) });
    await assert.rejects(wrong.unlock(), /wrong passphrase/);
    const none = new WalletVault(dir, { passphrase: headlessPassphrase({ env: {}, interactive: false }) });
    await assert.rejects(none.unlock(), /set IDLEFORGE_PASSPHRASE/);
    const file = join(dir, 'pass.txt');
    writeFileSync(file, 'a long enough passphrase\n');
    chmodSync(file, 0o644);
    await assert.rejects(headlessPassphrase({ env: {}, file }).get('unlock'), /chmod 600/);
    chmodSync(file, 0o600);
    assert.equal(await headlessPassphrase({ env: {}, file }).get('unlock'), 'a long enough passphrase');
  });

  it('keeps a watch-only payout address with a device key of its own', async () => {
    const payout = Wallet.createRandom().address;
    const info = await vault(temp()).watch(payout.toLowerCase());
    assert.equal(info.payoutAddress, payout);
    assert.notEqual(info.address, payout);
    assert.equal(info.kind, 'watch');
    await assert.rejects(vault(temp()).watch('0x1234'), /not an Ethereum address/);
  });

  it('with a secure OS store the password is random and wrapped; a basic_text store falls back to the passphrase', async () => {
    const xor = (b: Buffer): Buffer => Buffer.from(b.map((x) => x ^ 0x5a));
    const secure: SecretStore = { name: 'test', isSecure: () => true, encrypt: (p) => xor(Buffer.from(p)), decrypt: (d) => xor(d).toString() };
    const dir = temp();
    const info = await new WalletVault(dir, { secretStore: secure }).create();
    assert.equal(info.protection, 'os');
    assert.ok(readdirSync(dir).includes(SECRET_FILE));
    assert.equal((await new WalletVault(dir, { secretStore: secure }).unlock()).address, info.address);
    const basic: SecretStore = { ...secure, isSecure: () => false };
    const dir2 = temp();
    assert.equal((await new WalletVault(dir2, { secretStore: basic, passphrase, scryptN: 1 << 14 }).create()).protection, 'passphrase');
    assert.ok(!readdirSync(dir2).includes(SECRET_FILE));
  });

  it('moves the plain key file of earlier versions into the keystore and deletes it', async () => {
    const dir = temp();
    const legacy = Wallet.createRandom();
    writeFileSync(join(dir, LEGACY_KEY_FILE), JSON.stringify({ address: legacy.address, privateKey: legacy.privateKey }));
    const v = vault(dir);
    assert.equal((await v.migrateLegacy())?.address, legacy.address);
    assert.ok(!readdirSync(dir).includes(LEGACY_KEY_FILE));
    assert.equal((await vault(dir).unlock()).address, legacy.address);
    assertNoFileHolds(dir, [legacy.privateKey]);
  });
});
