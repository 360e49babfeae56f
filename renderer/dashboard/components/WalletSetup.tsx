/**
 * First run: one click creates a wallet; or import a recovery phrase or private key; or give a
 * watch-only payout address. The secret goes to the engine once and is never shown again.
 */
import { useState, type FormEvent } from 'react';
import { AddressSchema } from '../../../protocol/common.js';
import { useActions } from '../context.js';
import { messageOf } from '../store.js';
import { Icon } from './Icon.js';
import { Tabs } from './Tabs.js';

type Mode = 'create' | 'import' | 'watch';
const MODES = [
  { id: 'create', label: 'Create a wallet' },
  { id: 'import', label: 'Import one' },
  { id: 'watch', label: 'Watch-only address' },
] as const;

/** The engine has the final word; this only catches the obvious before a round trip. */
export function secretProblem(secret: string): string | null {
  const text = secret.trim();
  if (text === '') return 'Paste your recovery phrase or private key first.';
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(text)) return null;
  const words = text.split(/\s+/).length;
  if (words >= 12 && words <= 24) return null;
  return 'That is neither a recovery phrase (12 to 24 words) nor a private key (64 hex digits).';
}

export function WalletSetup({ compact = false }: { compact?: boolean }) {
  const actions = useActions();
  const [mode, setMode] = useState<Mode>('create');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState('');
  const [address, setAddress] = useState('');

  const run = async (fn: () => Promise<void>): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      setSecret('');
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const submitImport = (e: FormEvent): void => {
    e.preventDefault();
    const problem = secretProblem(secret);
    if (problem) return setError(problem);
    void run(() => actions.importWallet(secret.trim()));
  };
  const submitWatch = (e: FormEvent): void => {
    e.preventDefault();
    if (!AddressSchema.safeParse(address.trim()).success) return setError('An address is 0x followed by 40 hex digits.');
    void run(() => actions.watchWallet(address.trim()));
  };

  return (
    <section className={`card setup${compact ? ' setup-compact' : ''}`} aria-labelledby="setup-title">
      <div className="setup-head">
        <span className="setup-badge">
          <Icon name="wallet" size={26} />
        </span>
        <div>
          <h2 id="setup-title">Choose where your earnings go</h2>
          <p className="muted">Create a wallet in one click, bring your own, or name an address to be paid to. A key stays on this computer, encrypted; the dashboard never sees it.</p>
        </div>
      </div>
      <Tabs
        label="How to set up the wallet"
        tabs={MODES}
        value={mode}
        onChange={(m) => {
          setMode(m);
          setError(null);
        }}
      >
        {mode === 'create' ? (
          <div className="setup-panel">
            <p>A new wallet with a 12-word recovery phrase. You can back the phrase up right after.</p>
            <button type="button" className="btn btn-primary btn-large" disabled={busy} onClick={() => void run(() => actions.createWallet())}>
              <Icon name="bolt" />
              {busy ? 'Creating your wallet…' : 'Create my wallet'}
            </button>
          </div>
        ) : mode === 'import' ? (
          <form className="setup-panel" onSubmit={submitImport}>
            <label className="field">
              <span className="field-label">Recovery phrase or private key</span>
              <textarea
                value={secret}
                onChange={(e) => setSecret(e.target.value)}
                rows={3}
                autoComplete="off"
                spellCheck={false}
                aria-describedby="import-hint"
                placeholder="twelve words separated by spaces… or 0x + 64 hex digits"
              />
              <span id="import-hint" className="field-hint">
                It is encrypted on this computer and never shown again.
              </span>
            </label>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? 'Importing…' : 'Import wallet'}
            </button>
          </form>
        ) : (
          <form className="setup-panel" onSubmit={submitWatch}>
            <label className="field">
              <span className="field-label">Payout address</span>
              <input value={address} onChange={(e) => setAddress(e.target.value)} placeholder="0x…" autoComplete="off" spellCheck={false} aria-describedby="watch-hint" />
              <span id="watch-hint" className="field-hint">
                Payouts go to this address (a hardware wallet, say). This machine signs in with a key of its own that cannot spend from it.
              </span>
            </label>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? 'Saving…' : 'Use this address'}
            </button>
          </form>
        )}
      </Tabs>
      {error ? (
        <p className="form-error" role="alert">
          <Icon name="alert" size={16} /> {error}
        </p>
      ) : null}
    </section>
  );
}
