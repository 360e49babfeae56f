/**
 * The worker's signing key, for now a plain ethers wallet in `worker-key.json` (mode 0600) in
 * the data directory. The real wallet (encrypted keystore, OS key protection) replaces it.
 */
import { Wallet } from 'ethers';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AddressSchema } from '../protocol/index.js';

export const KEY_FILE = 'worker-key.json';

const KeyFileSchema = z.object({
  address: AddressSchema,
  privateKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
});

export function loadOrCreateIdentity(dataDir: string): Wallet {
  const file = join(dataDir, KEY_FILE);
  if (existsSync(file)) {
    const parsed = KeyFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new Error(`${file} is not a valid key file: ${parsed.error.issues[0]?.message ?? ''}`);
    const wallet = new Wallet(parsed.data.privateKey);
    if (wallet.address.toLowerCase() !== parsed.data.address.toLowerCase()) {
      throw new Error(`${file} is damaged: its key does not match its address`);
    }
    return wallet;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const wallet = Wallet.createRandom();
  writeFileSync(file, `${JSON.stringify({ address: wallet.address, privateKey: wallet.privateKey }, null, 2)}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  chmodSync(file, 0o600);
  return new Wallet(wallet.privateKey);
}
