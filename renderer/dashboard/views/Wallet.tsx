/** Wallet: one-click setup on a first run; then the address to copy, balances, and the backup. */
import type { EngineResult } from '../../../protocol/engine-api.js';
import { BackupFlow } from '../components/BackupFlow.js';
import { CopyButton } from '../components/CopyButton.js';
import { Icon } from '../components/Icon.js';
import { ErrorState, Loadable, Skeleton } from '../components/States.js';
import { WalletSetup } from '../components/WalletSetup.js';
import { useActions, useDashboard } from '../context.js';
import { formatAgo, withSymbol } from '../format.js';

function Balances({ balance }: { balance: EngineResult<'getBalance'> }) {
  const { setView } = useActions();
  if (balance.status === 'no-chain') {
    return (
      <div className="notice-inline">
        <Icon name="plug" size={18} />
        <span>No chain is set, so balances cannot be read.</span>
        <button type="button" className="link" onClick={() => setView('settings')}>
          Set the RPC address in Settings
        </button>
      </div>
    );
  }
  if (balance.status === 'offline') {
    return (
      <ErrorState message={`Cannot read the balance right now (${balance.message})${balance.updatedAt ? `; last read ${formatAgo(balance.updatedAt)}` : ''}.`} />
    );
  }
  return (
    <div className="balances">
      <div>
        <p className="stat-label">Token</p>
        {balance.token === null ? (
          <p className="muted">Known once the worker has signed in to its hub.</p>
        ) : (
          <p className="stat-value">{withSymbol(balance.token, { symbol: balance.symbol ?? 'tokens', decimals: balance.decimals ?? 18 })}</p>
        )}
      </div>
      <div>
        <p className="stat-label">Gas coin</p>
        <p className="stat-value stat-small">{withSymbol(balance.native, { symbol: 'ETH', decimals: 18 })}</p>
      </div>
      <p className="muted small">Read {formatAgo(balance.updatedAt)} from the chain.</p>
    </div>
  );
}

export function Wallet() {
  const wallet = useDashboard((s) => s.wallet);
  const balance = useDashboard((s) => s.balance);
  const actions = useActions();

  if (wallet.data === null) {
    if (wallet.error) return <ErrorState message={wallet.error} onRetry={() => void actions.refresh()} />;
    if (wallet.loading) return <Skeleton lines={4} label="Loading the wallet" />;
    return <WalletSetup />;
  }
  const w = wallet.data;
  return (
    <div className="wallet">
      <section className="card" aria-labelledby="address-title">
        <div className="card-head">
          <h2 id="address-title" className="card-title">
            {w.kind === 'watch' ? 'Payout address (watch-only)' : 'Your wallet'}
          </h2>
          <span className={`badge ${w.kind === 'watch' ? 'badge-pending' : 'badge-verified'}`}>{w.kind === 'watch' ? 'Watch-only' : 'Key on this computer'}</span>
        </div>
        <div className="address">
          <span className="mono address-text">{w.payoutAddress}</span>
          <CopyButton text={w.payoutAddress} label="Copy the payout address" />
        </div>
        {w.kind === 'watch' ? (
          <p className="muted small">
            This machine signs in as <span className="mono">{w.address}</span>, a key of its own; payouts go to the address above.
          </p>
        ) : (
          <p className="muted small">Earnings are paid to this address. The key never leaves the engine.</p>
        )}
      </section>
      <section className="card" aria-labelledby="balance-title">
        <div className="card-head">
          <h2 id="balance-title" className="card-title">
            Balance
          </h2>
          <button type="button" className="btn btn-ghost btn-small" onClick={() => void actions.refreshBalance()}>
            <Icon name="refresh" size={16} /> Refresh
          </button>
        </div>
        <Loadable resource={balance} onRetry={() => void actions.refresh()}>
          {(b) => <Balances balance={b} />}
        </Loadable>
      </section>
      {w.hasPhrase ? (
        <section className={`card${w.backedUp ? '' : ' card-warn'}`} aria-labelledby="backup-title">
          <div className="card-head">
            <h2 id="backup-title" className="card-title">
              <Icon name="shield" size={18} /> Recovery phrase
            </h2>
            <span className={`badge ${w.backedUp ? 'badge-verified' : 'badge-rejected'}`}>{w.backedUp ? 'Backed up' : 'Not backed up'}</span>
          </div>
          {w.backedUp ? <p className="muted">You checked your written copy. Keep it somewhere safe and offline.</p> : <BackupFlow />}
        </section>
      ) : null}
    </div>
  );
}
