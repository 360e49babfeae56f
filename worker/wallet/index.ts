import { headlessPassphrase } from './protection.js';
import { WalletVault } from './vault.js';

export * from './vault.js';
export * from './protection.js';
export * from './balance.js';

/** The vault of a headless worker: passphrase-protected (IDLEFORGE_PASSPHRASE, a file, or a prompt). */
export function headlessVault(dataDir: string, passphraseFile?: string): WalletVault {
  const n = Number(process.env.IDLEFORGE_KEYSTORE_SCRYPT_N);
  return new WalletVault(dataDir, {
    passphrase: headlessPassphrase({ file: passphraseFile }),
    scryptN: Number.isInteger(Math.log2(n)) && n >= 1 << 14 ? n : undefined,
  });
}
