/** The dashboard's frame: navigation, the connection to the engine, the view, and notices. */
import { useEffect, useRef } from 'react';
import { Icon, type IconName } from './components/Icon.js';
import { Notices } from './components/Notices.js';
import { STATE_LABEL } from './components/StatusMeta.js';
import { useActions, useDashboard } from './context.js';
import type { ViewId } from './store.js';
import { Earnings } from './views/Earnings.js';
import { Gpus } from './views/Gpus.js';
import { Home } from './views/Home.js';
import { Rigs } from './views/Rigs.js';
import { Settings } from './views/Settings.js';
import { Wallet } from './views/Wallet.js';
import { Why } from './views/Why.js';

export const NAV: ReadonlyArray<{ id: ViewId; label: string; title: string; icon: IconName }> = [
  { id: 'home', label: 'Home', title: 'Home', icon: 'home' },
  { id: 'earnings', label: 'Earnings', title: 'Earnings', icon: 'chart' },
  { id: 'wallet', label: 'Wallet', title: 'Wallet', icon: 'wallet' },
  { id: 'gpus', label: 'GPUs', title: 'GPUs', icon: 'gpu' },
  { id: 'rigs', label: 'Rigs', title: 'Rigs', icon: 'cloud' },
  { id: 'settings', label: 'Settings', title: 'Settings', icon: 'settings' },
  { id: 'why', label: 'Why am I not earning?', title: 'Why am I not earning?', icon: 'help' },
];

const VIEW: Record<ViewId, () => React.JSX.Element> = { home: Home, earnings: Earnings, wallet: Wallet, gpus: Gpus, rigs: Rigs, settings: Settings, why: Why };

/** A whole-page message: no way to the engine, or a link that no longer works. */
export function FullPage({ title, children, onRetry }: { title: string; children: React.ReactNode; onRetry?: () => void }) {
  return (
    <div className="fullpage">
      <div className="fullpage-card" role="alert">
        <span className="brand-mark big" aria-hidden="true">
          <Icon name="bolt" size={30} />
        </span>
        <h1>{title}</h1>
        <div className="muted">{children}</div>
        {onRetry ? (
          <button type="button" className="btn btn-primary" onClick={onRetry}>
            <Icon name="refresh" size={18} /> Try again
          </button>
        ) : null}
      </div>
    </div>
  );
}

function Connection() {
  const connection = useDashboard((s) => s.connection);
  const state = useDashboard((s) => s.status.data?.state ?? null);
  const words = connection === 'online' ? (state ? STATE_LABEL[state] : 'Connected') : connection === 'connecting' ? 'Connecting…' : 'Engine offline';
  return (
    <p className={`conn conn-${connection === 'online' ? (state ?? 'starting') : connection}`}>
      <span className="state-dot" aria-hidden="true" />
      <span>{words}</span>
    </p>
  );
}

export function App() {
  const view = useDashboard((s) => s.view);
  const connection = useDashboard((s) => s.connection);
  const fatal = useDashboard((s) => s.fatal);
  const hasStatus = useDashboard((s) => s.status.data !== null);
  const blocked = useDashboard((s) => s.status.data?.blockedBy ?? null);
  const walletAttention = useDashboard((s) => s.status.data?.address === null || (s.wallet.data?.hasPhrase === true && !s.wallet.data.backedUp));
  const actions = useActions();
  const heading = useRef<HTMLHeadingElement>(null);
  const first = useRef(true);
  useEffect(() => {
    // Moving to another view takes the focus there, for keyboards and screen readers alike.
    if (first.current) first.current = false;
    else heading.current?.focus();
  }, [view]);

  if (fatal) return <FullPage title="This link is out of date">{fatal}</FullPage>;
  if (!hasStatus && connection === 'offline') {
    return (
      <FullPage title="Can't reach the Idleforge engine" onRetry={actions.retry}>
        <p>The worker may have stopped. Start it again (idleforge worker --dashboard) and open the address it prints. This page keeps trying on its own.</p>
      </FullPage>
    );
  }
  const current = NAV.find((n) => n.id === view)!;
  const View = VIEW[view];
  return (
    <div className="app">
      <aside className="sidebar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            <Icon name="bolt" size={20} />
          </span>
          <span className="brand-name">Idleforge</span>
        </div>
        <nav aria-label="Dashboard">
          <ul className="nav">
            {NAV.map((n) => (
              <li key={n.id}>
                <button type="button" className={`nav-item${n.id === view ? ' is-active' : ''}`} aria-current={n.id === view ? 'page' : undefined} onClick={() => actions.setView(n.id)}>
                  <Icon name={n.icon} />
                  <span>{n.label}</span>
                  {(n.id === 'why' && blocked && blocked !== 'no-wallet') || (n.id === 'wallet' && walletAttention) ? <span className="nav-dot" aria-label="needs attention" /> : null}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <Connection />
      </aside>
      <main className="main" aria-labelledby="view-title">
        <header className="topbar">
          <h1 id="view-title" ref={heading} tabIndex={-1}>
            {current.title}
          </h1>
        </header>
        {connection === 'offline' ? (
          <div className="banner" role="alert">
            <Icon name="plug" size={18} />
            <span>The engine is not answering: what you see may be out of date. Reconnecting…</span>
            <button type="button" className="btn btn-small" onClick={actions.retry}>
              Retry now
            </button>
          </div>
        ) : null}
        <View />
      </main>
      <Notices />
    </div>
  );
}
