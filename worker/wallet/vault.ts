/**
 * The worker's wallet on disk: an ethers encrypted keystore (scrypt) in `wallet.json`, mode 0600.
 * Nothing in the data directory ever holds the key or the recovery phrase in the clear: the
 * keystore's password is either random and wrapped by the OS secret store (`wallet-secret.bin`),
 * or the user's passphrase. The key is decrypted only in this process, on `unlock()`.
 *
 * Kinds: `key` (created or imported: it signs in and is paid), and `watch` (a random device key
 * signs in; payouts go to the watch-only address the user gave, registered with the hub).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HDNodeWallet, Mnemonic, Wallet, encryptKeystoreJson, getAddress, isAddress, type KeystoreAccount } from 'ethers';
import { z } from 'zod';
import { AddressSchema } from '../../protocol/index.js';
import { PassphraseError, type PassphraseSource, type SecretStore } from './protection.js';

export const WALLET_FILE = 'wallet.json';
export const SECRET_FILE = 'wallet-secret.bin';
/** The plain key file of versions before the wallet: imported, then removed. */
export const LEGACY_KEY_FILE = 'worker-key.json';

const WalletFileSchema = z.object({
  version: z.literal(1),
  kind: z.enum(['key', 'watch']),
  /** The address that signs in (the wallet's own, or the device key's). */
  address: AddressSchema,
  /** Where payouts go: the wallet's address, or the watch-only address. */
  payoutAddress: AddressSchema,
  protection: z.enum(['os', 'passphrase']),
  keystore: z.string().min(1),
  hasPhrase: z.boolean(),
  backedUp: z.boolean(),
  createdAt: z.string(),
});
type WalletFile = z.infer<typeof WalletFileSchema>;

export interface WalletInfo {
  kind: 'key' | 'watch';
  address: string;
  payoutAddress: string;
  protection: 'os' | 'passphrase';
  hasPhrase: boolean;
  backedUp: boolean;
}

export class WalletError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WalletError';
  }
}

export interface VaultOptions {
  /** An OS secret store; used when present and really secure. */
  secretStore?: SecretStore | null;
  /** Asked when there is no secure OS store. */
  passphrase?: PassphraseSource;
  /**
   * scrypt cost for passphrase-protected keystores (2^17 by default). With an OS-wrapped random
   * 256-bit password, the cost adds nothing and 2^14 is used.
   */
  scryptN?: number;
}

type Signer = Wallet | HDNodeWallet;

export class WalletVault {
  private unlocked: Signer | null = null;

  constructor(
    readonly dataDir: string,
    private readonly o: VaultOptions = {},
  ) {}

  private get file(): string {
    return join(this.dataDir, WALLET_FILE);
  }

  exists(): boolean {
    return existsSync(this.file);
  }

  /** What the wallet is, without decrypting anything. */
  info(): WalletInfo | null {
    const w = this.read();
    return w && { kind: w.kind, address: w.address, payoutAddress: w.payoutAddress, protection: w.protection, hasPhrase: w.hasPhrase, backedUp: w.backedUp };
  }

  /** A new wallet with a random recovery phrase. */
  async create(): Promise<WalletInfo> {
    this.refuseOverwrite();
    return this.save('key', Wallet.createRandom(), null);
  }

  /** Imports a recovery phrase (12–24 words) or a private key (0x + 64 hex). */
  async importSecret(secret: string): Promise<WalletInfo> {
    this.refuseOverwrite();
    const text = secret.trim();
    let signer: Signer;
    if (/^(0x)?[0-9a-fA-F]{64}$/.test(text)) {
      signer = new Wallet(text.startsWith('0x') ? text : `0x${text}`);
    } else {
      const words = text.toLowerCase().split(/\s+/).join(' ');
      if (!Mnemonic.isValidMnemonic(words)) {
        throw new WalletError('that is neither a valid recovery phrase (12 to 24 English words) nor a private key (64 hex digits)');
      }
      signer = HDNodeWallet.fromPhrase(words);
    }
    return this.save('key', signer, null);
  }

  /** A watch-only payout address: a random device key signs in, payouts go to `payout`. */
  async watch(payout: string): Promise<WalletInfo> {
    this.refuseOverwrite();
    if (!isAddress(payout)) throw new WalletError('that is not an Ethereum address (0x followed by 40 hex digits)');
    return this.save('watch', Wallet.createRandom(), getAddress(payout));
  }

  /** Decrypts the key (once per process) for signing; never returned to any renderer or API. */
  async unlock(): Promise<Signer> {
    if (this.unlocked) return this.unlocked;
    const w = this.read();
    if (!w) throw new WalletError('there is no wallet yet: create one with `idleforge wallet create`');
    const password = await this.password(w.protection, 'unlock');
    let signer: Signer;
    try {
      signer = await Wallet.fromEncryptedJson(w.keystore, password);
    } catch {
      throw new PassphraseError('wrong passphrase: the wallet could not be opened');
    }
    if (signer.address !== w.address) throw new WalletError(`${this.file} is damaged: its key does not match its address`);
    this.unlocked = signer;
    return signer;
  }

  /** The recovery phrase, for an explicit and confirmed "reveal" only. */
  async revealPhrase(confirmed: boolean): Promise<string> {
    if (!confirmed) throw new WalletError('revealing the recovery phrase needs an explicit confirmation');
    const w = this.read();
    if (!w) throw new WalletError('there is no wallet yet: create one with `idleforge wallet create`');
    if (!w.hasPhrase) throw new WalletError('this wallet has no recovery phrase (it was imported from a private key, or is watch-only)');
    const signer = await this.unlock();
    const phrase = 'mnemonic' in signer ? signer.mnemonic?.phrase : undefined;
    if (!phrase) throw new WalletError('this wallet has no recovery phrase');
    return phrase;
  }

  /** Positions (1-based) of the words a backup check asks for. */
  backupChallenge(count = 3): number[] {
    const picks = new Set<number>();
    while (picks.size < count) picks.add(1 + (randomBytes(1)[0]! % 12));
    return [...picks].sort((a, b) => a - b);
  }

  /** Checks words of the phrase the user wrote down; marks the wallet backed up when right. */
  async confirmBackup(words: Record<number, string>): Promise<boolean> {
    const phrase = (await this.revealPhrase(true)).split(' ');
    const entries = Object.entries(words);
    if (entries.length < 3) throw new WalletError('confirm at least 3 words of the phrase');
    const ok = entries.every(([i, word]) => phrase[Number(i) - 1] === word.trim().toLowerCase());
    if (ok) this.write({ ...this.read()!, backedUp: true });
    return ok;
  }

  /** Imports the plain key file of earlier versions, then deletes it. */
  async migrateLegacy(): Promise<WalletInfo | null> {
    const legacy = join(this.dataDir, LEGACY_KEY_FILE);
    if (!existsSync(legacy) || this.exists()) return null;
    const parsed = z.object({ privateKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/) }).safeParse(JSON.parse(readFileSync(legacy, 'utf8')));
    if (!parsed.success) throw new WalletError(`${legacy} is not a valid key file`);
    const info = await this.save('key', new Wallet(parsed.data.privateKey), null);
    rmSync(legacy);
    return info;
  }

  private refuseOverwrite(): void {
    if (this.exists()) throw new WalletError(`this data directory already has a wallet (${this.info()?.address}); use another --data directory`);
  }

  private async save(kind: 'key' | 'watch', signer: Signer, payout: string | null): Promise<WalletInfo> {
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const store = this.o.secretStore && this.o.secretStore.isSecure() ? this.o.secretStore : null;
    const protection: 'os' | 'passphrase' = store ? 'os' : 'passphrase';
    let password: string;
    if (store) {
      password = randomBytes(32).toString('hex');
      writePrivate(join(this.dataDir, SECRET_FILE), store.encrypt(password));
    } else {
      password = await this.password('passphrase', 'new');
    }
    const n = store ? 1 << 14 : this.o.scryptN ?? 1 << 17;
    const mnemonic = 'mnemonic' in signer ? signer.mnemonic : null;
    const account: KeystoreAccount = { address: signer.address, privateKey: signer.privateKey };
    if (mnemonic && 'path' in signer && signer.path) {
      account.mnemonic = { path: signer.path, locale: mnemonic.wordlist.locale, entropy: mnemonic.entropy };
    }
    const keystore = await encryptKeystoreJson(account, password, { scrypt: { N: n } });
    const hasPhrase = !!account.mnemonic;
    const file: WalletFile = {
      version: 1,
      kind,
      address: signer.address,
      payoutAddress: payout ?? signer.address,
      protection,
      keystore,
      hasPhrase: kind === 'key' && hasPhrase,
      backedUp: false,
      createdAt: new Date().toISOString(),
    };
    this.write(file);
    this.unlocked = signer;
    return this.info()!;
  }

  private async password(protection: 'os' | 'passphrase', purpose: 'new' | 'unlock'): Promise<string> {
    if (protection === 'os') {
      const store = this.o.secretStore;
      if (!store) throw new WalletError('this wallet is protected by the desktop app’s OS key store; open it there');
      return store.decrypt(readFileSync(join(this.dataDir, SECRET_FILE)));
    }
    if (!this.o.passphrase) throw new PassphraseError('this wallet needs its passphrase');
    return this.o.passphrase.get(purpose);
  }

  private read(): WalletFile | null {
    if (!this.exists()) return null;
    const parsed = WalletFileSchema.safeParse(JSON.parse(readFileSync(this.file, 'utf8')));
    if (!parsed.success) throw new WalletError(`${this.file} is damaged: ${parsed.error.issues[0]?.message ?? ''}`);
    return parsed.data;
  }

  private write(w: WalletFile): void {
    writePrivate(this.file, Buffer.from(`${JSON.stringify(w, null, 2)}\n`));
  }
}

/** Writes atomically with mode 0600. */
function writePrivate(path: string, data: Buffer): void {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, data, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}
