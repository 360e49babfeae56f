/**
 * Home: the state in one sentence with its reason, one big pause/resume control and snooze, the
 * task in hand, earnings today and this week, the GPU's temperature against its limit, and
 * thumbnails of the latest tiles it rendered.
 */
import { useEffect, useState } from 'react';
import { DASHBOARD_FIRST_RENDER_MARK, type EngineStatusView } from '../../../protocol/engine-api.js';
import { useActions, useDashboard } from '../context.js';
import { formatDuration, plural, withSymbol } from '../format.js';
import { Icon } from '../components/Icon.js';
import { Skeleton, ErrorState } from '../components/States.js';
import { isPausedByUser, STATE_LABEL } from '../components/StatusMeta.js';
import { TempGauge } from '../components/TempGauge.js';
import { TileThumb } from '../components/TileThumb.js';
import { WalletSetup } from '../components/WalletSetup.js';
import { EarningRate } from '../components/EarningRate.js';

/** The first paint of Home with data is marked once, for `idleforge bench ui`. */
let marked = false;

function useNow(everyMs: number, active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs, active]);
  return now;
}

function TaskProgress({ task }: { task: NonNullable<EngineStatusView['task']> }) {
  const now = useNow(250, true);
  const elapsed = Math.max(0, now - Date.parse(task.startedAt));
  const expected = task.expectedMs ?? null;
  // An estimate from the last tasks of this kind; it never claims to be done before it is.
  const fraction = expected ? Math.min(0.97, elapsed / Math.max(1, expected)) : null;
  return (
    <div className="task">
      <div className="task-row">
        <span className="task-kind">{task.kind}</span>
        <span className="muted small mono">{task.id}</span>
      </div>
      <div
        className={`progress${fraction === null ? ' is-indeterminate' : ''}`}
        role="progressbar"
        aria-label={`Progress of the ${task.kind} task`}
        aria-valuemin={0}
        aria-valuemax={100}
        {...(fraction === null ? { 'aria-valuetext': 'estimating' } : { 'aria-valuenow': Math.round(fraction * 100) })}
      >
        {/* Set through the CSSOM (React's style prop), which the strict CSP allows. */}
        <span className="progress-bar" style={fraction === null ? undefined : { transform: `scaleX(${fraction})` }} />
      </div>
      <p className="muted small">
        {formatDuration(elapsed)} on the GPU
        {expected ? ` · tasks like this take about ${formatDuration(expected)} here` : ' · the first of its kind: no estimate yet'}
      </p>
    </div>
  );
}

function Hero({ status }: { status: EngineStatusView }) {
  const actions = useActions();
  const [busy, setBusy] = useState(false);
  const pausedByUser = isPausedByUser(status);
  const noWallet = status.blockedBy === 'no-wallet';
  const act = async (fn: () => Promise<void>): Promise<void> => {
    setBusy(true);
    try {
      await fn();
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className={`card hero tone-${status.state}`} aria-labelledby="state-sentence">
      <div className="hero-main">
        <span className="state-pill">
          <span className="state-dot" aria-hidden="true" />
          {STATE_LABEL[status.state]}
        </span>
        <p id="state-sentence" className="hero-sentence" role="status" aria-live="polite">
          {status.reason}
        </p>
        {status.blockedBy && !pausedByUser && !noWallet ? (
          <button type="button" className="link" onClick={() => actions.setView('why')}>
            Why am I not earning?
          </button>
        ) : null}
      </div>
      {noWallet ? null : (
      <div className="hero-controls">
        <button
          type="button"
          className={`big-toggle${pausedByUser ? ' is-paused' : ''}`}
          disabled={busy}
          aria-label={pausedByUser ? 'Resume earning' : 'Pause earning'}
          onClick={() => void act(pausedByUser ? actions.resume : actions.pause)}
        >
          <Icon name={pausedByUser ? 'play' : 'pause'} size={34} />
          <span>{pausedByUser ? 'Resume' : 'Pause'}</span>
        </button>
        <div className="snooze" role="group" aria-label="Snooze">
          <span className="muted small">
            <Icon name="moon" size={14} /> Snooze
          </span>
          {(
            [
              ['30m', '30 min'],
              ['1h', '1 hour'],
              ['tomorrow', 'Until tomorrow'],
            ] as const
          ).map(([span, label]) => (
            <button key={span} type="button" className="chip" disabled={busy} onClick={() => void act(() => actions.snooze(span))}>
              {label}
            </button>
          ))}
        </div>
      </div>
      )}
    </section>
  );
}

/** Thumbnails of the latest tiles this GPU rendered for someone's picture. */
function LatestTiles() {
  const previews = useDashboard((s) => s.previews);
  const { refresh: retry } = useActions();
  let body;
  if (previews.error) body = <ErrorState message={`The thumbnails could not be read: ${previews.error}`} onRetry={() => void retry()} />;
  else if (!previews.data) body = <Skeleton lines={1} label="Loading the latest tiles" />;
  else if (previews.data.previews.length === 0) body = <p className="muted">No tiles yet. When this GPU renders part of someone's picture, a thumbnail of it shows here.</p>;
  else {
    body = (
      <ul className="tiles">
        {previews.data.previews.map((p) => (
          <li key={p.taskId}>
            <TileThumb preview={p} label={`Tile of task ${p.taskId}, rendered ${new Date(p.createdAt).toLocaleString()}`} />
          </li>
        ))}
      </ul>
    );
  }
  return (
    <section className="card" aria-labelledby="tiles-title">
      <h2 id="tiles-title" className="card-title">
        Latest tiles rendered here
      </h2>
      {body}
    </section>
  );
}

export function Home() {
  const status = useDashboard((s) => s.status);
  const outlook = useDashboard((s) => s.outlook);
  const { refresh: retry, setView } = useActions();
  const data = status.data;
  useEffect(() => {
    if (!data || marked) return;
    marked = true;
    // After the browser has painted the frame with the data.
    requestAnimationFrame(() => setTimeout(() => performance.mark(DASHBOARD_FIRST_RENDER_MARK), 0));
  }, [data]);

  if (!data) {
    return status.error ? <ErrorState message={status.error} onRetry={() => void retry()} /> : <Skeleton lines={6} label="Loading the engine's status" />;
  }
  return (
    <div className="home">
      <Hero status={data} />
      {data.address === null ? <WalletSetup compact /> : null}
      <div className="grid-3">
        <section className="card stat" aria-labelledby="today-label">
          <h2 id="today-label" className="stat-label">
            Earned today
          </h2>
          <p className="stat-value">{withSymbol(data.earnedToday, data.token)}</p>
          <p className="muted small">{plural(data.credited, 'task')} credited since the worker started</p>
        </section>
        <section className="card stat" aria-labelledby="week-label">
          <h2 id="week-label" className="stat-label">
            This week
          </h2>
          <p className="stat-value">{withSymbol(data.earnedThisWeek, data.token)}</p>
          <button type="button" className="link small" onClick={() => setView('earnings')}>
            See every task and payout
          </button>
        </section>
        <section className="card stat" aria-labelledby="temp-label">
          <h2 id="temp-label" className="stat-label">
            <Icon name="thermo" size={16} /> GPU temperature
          </h2>
          <TempGauge temperatureC={data.temperatureC} limitC={data.temperatureLimitC} />
        </section>
      </div>
      <EarningRate outlook={outlook} onRetry={() => void retry()} />
      <section className="card" aria-labelledby="task-title">
        <h2 id="task-title" className="card-title">
          Task in hand
        </h2>
        {data.task ? (
          <TaskProgress task={data.task} />
        ) : (
          <p className="muted">{data.state === 'working' ? 'Between tasks…' : 'No task right now. One starts as soon as every condition allows.'}</p>
        )}
      </section>
      <LatestTiles />
    </div>
  );
}
