/**
 * Rigs: every PC paying to this rig's payout address, online or not, with its state, temperature
 * and earnings; pause, resume, snooze or rename another one; add a rig with a pairing code; and
 * the alerts' settings. Alerts come from the owner's other rigs, so it says plainly that they need
 * another rig online.
 */
import { useState } from 'react';
import type { EngineResult } from '../../../protocol/engine-api.js';
import { EngineApiError } from '../../../protocol/engine-api.js';
import { Field } from '../components/Fields.js';
import { Icon } from '../components/Icon.js';
import { EmptyState, ErrorState, Loadable } from '../components/States.js';
import { STATE_LABEL } from '../components/StatusMeta.js';
import { useActions, useDashboard } from '../context.js';
import { formatAgo, formatDateTime, shortHex, withSymbol } from '../format.js';
import { messageOf } from '../store.js';

type RigsView = EngineResult<'getRigs'>;
type RigView = RigsView['rigs'][number];

const OFFLINE_CHOICES = [60, 120, 300, 600, 1800] as const;

/** "Paused from desk-pc" (or why it was refused), for the history. */
export function commandLine(c: RigsView['commands'][number]): string {
  const from = c.fromName ?? shortHex(c.from);
  const done = { pause: 'Paused', resume: 'Resumed', snooze: 'Snoozed', rename: 'Renamed' }[c.action as 'pause'] ?? c.action;
  return c.outcome === 'applied' ? `${done} from ${from}` : `Refused a command (${c.action}) from ${from}: ${c.reason ?? 'not valid'}`;
}

export function Rigs() {
  const rigs = useDashboard((s) => s.rigs);
  const actions = useActions();
  return (
    <div className="rigs">
      <p className="banner banner-info" role="note">
        <Icon name="alert" size={18} />
        <span>
          Alerts come from your other rigs: when a rig goes quiet, the ones still online tell you. With one rig, or when all of them lose power, nobody hears it.
        </span>
      </p>
      <Loadable resource={rigs} onRetry={() => void actions.refresh()} lines={5}>
        {(view) => <RigsBody view={view} />}
      </Loadable>
    </div>
  );
}

function RigsBody({ view }: { view: RigsView }) {
  if (view.status === 'no-wallet') {
    return (
      <EmptyState icon="wallet" title="Set up your wallet first">
        Rigs are found by the address they pay to. Create, import or watch a wallet on the Wallet page.
      </EmptyState>
    );
  }
  if (view.status === 'loading') {
    return (
      <EmptyState icon="clock" title="Asking the hub for your rigs…">
        This takes a few seconds after the worker starts.
      </EmptyState>
    );
  }
  if (view.status === 'not-in-fleet') return <JoinCard message={view.message} />;
  return (
    <>
      {view.status === 'unreachable' ? <ErrorState message={`Can't reach the hub, so this list may be out of date: ${view.message ?? ''}`} /> : null}
      <section className="card" aria-labelledby="rigs-title">
        <div className="card-head">
          <h2 id="rigs-title" className="card-title">
            Rigs paying to <span className="mono">{view.payoutAddress ? shortHex(view.payoutAddress) : '…'}</span>
          </h2>
          {view.readAt ? <span className="muted small">as of {formatAgo(view.readAt)}</span> : null}
        </div>
        {view.rigs.length === 0 ? (
          <p className="muted">The hub lists no rig yet: this one appears after its first heartbeat.</p>
        ) : (
          <ul className="rig-list" aria-label="Rigs">
            {view.rigs.map((r) => (
              <RigRow key={r.address} rig={r} />
            ))}
          </ul>
        )}
        {view.rigs.filter((r) => !r.you).length === 0 ? <p className="muted small">Only this rig so far. Add another with a pairing code below.</p> : null}
      </section>
      <PairCard />
      <AlertSettings offlineAfterS={view.offlineAfterS} />
      <section className="card" aria-labelledby="rig-history-title">
        <h2 id="rig-history-title" className="card-title">
          Commands from your other rigs
        </h2>
        {view.commands.length === 0 ? (
          <p className="muted">None yet. When another rig pauses, resumes or snoozes this one, it shows here.</p>
        ) : (
          <ol className="timeline" aria-label="Commands from other rigs">
            {view.commands.map((c) => (
              <li key={`${c.at} ${c.from}`} className={`timeline-item tone-${c.outcome === 'applied' ? 'working' : 'error'}`}>
                <span className="muted small">{formatDateTime(c.at)}</span>
                <span className={`badge ${c.outcome === 'applied' ? 'badge-verified' : 'badge-rejected'}`}>{c.outcome === 'applied' ? 'Applied' : 'Refused'}</span>
                <span>{commandLine(c)}</span>
              </li>
            ))}
          </ol>
        )}
      </section>
    </>
  );
}

function RigRow({ rig }: { rig: RigView }) {
  const token = useDashboard((s) => s.status.data?.token ?? null);
  const actions = useActions();
  const [renaming, setRenaming] = useState(false);
  const money = (v: string | null): string => (v === null ? '—' : token ? withSymbol(v, token) : v);
  const tone = rig.online ? (rig.state ?? 'starting') : 'offline';
  const where = rig.you ? 'This PC' : rig.online ? 'Online' : `Offline${rig.heartbeatAt ? `, last heard ${formatAgo(rig.heartbeatAt)}` : ': never heard from'}`;
  return (
    <li className={`rig tone-${tone}`} aria-label={rig.name}>
      <div className="row space wrap">
        <div>
          <span className="state-dot" aria-hidden="true" /> <strong>{rig.name}</strong> <span className="muted small">{where}</span>
        </div>
        <div className="row wrap">
          {rig.you ? null : rig.state === 'paused' ? (
            <button type="button" className="btn btn-small" onClick={() => void actions.commandRig(rig.address, rig.name, 'resume')}>
              <Icon name="play" size={14} /> Resume
            </button>
          ) : (
            <>
              <button type="button" className="btn btn-small" onClick={() => void actions.commandRig(rig.address, rig.name, 'pause')}>
                <Icon name="pause" size={14} /> Pause
              </button>
              <button type="button" className="btn btn-small btn-ghost" onClick={() => void actions.commandRig(rig.address, rig.name, 'snooze', { for: '1h' })}>
                <Icon name="moon" size={14} /> Snooze 1 h
              </button>
            </>
          )}
          <button type="button" className="btn btn-small btn-ghost" onClick={() => setRenaming((v) => !v)} aria-expanded={renaming}>
            Rename
          </button>
        </div>
      </div>
      <p className="small">
        {rig.online && rig.state ? `${STATE_LABEL[rig.state]}${rig.reason ? `: ${rig.reason}` : ''}` : rig.online ? 'No heartbeat yet' : 'Not earning while offline'}
        {rig.temperatureC !== null && rig.online ? ` · ${Math.round(rig.temperatureC)} °C` : ''}
      </p>
      <p className="small muted">
        Today {money(rig.earnedToday)}
        {rig.tasksToday !== null ? ` (${rig.tasksToday} tasks)` : ''} · this week {money(rig.earnedWeek)}
        {rig.gpus.length > 0 ? ` · ${rig.gpus.join(', ')}` : ''}
      </p>
      {renaming ? <RenameForm rig={rig} onDone={() => setRenaming(false)} /> : null}
    </li>
  );
}

function RenameForm({ rig, onDone }: { rig: RigView; onDone: () => void }) {
  const actions = useActions();
  const [name, setName] = useState(rig.name);
  const [error, setError] = useState<string | null>(null);
  const submit = async (): Promise<void> => {
    const trimmed = name.trim();
    if (trimmed === '' || trimmed.length > 40) return setError('Give a name of 1 to 40 characters.');
    try {
      if (rig.you) await actions.renameRig(trimmed);
      else await actions.commandRig(rig.address, rig.name, 'rename', { name: trimmed });
      onDone();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return (
    <form
      className="row wrap"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <Field label={`New name for ${rig.name}`} error={error}>
        {({ id, describedBy, invalid }) => <input id={id} aria-describedby={describedBy} aria-invalid={invalid} value={name} maxLength={40} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <button type="submit" className="btn btn-small btn-primary">
        Save name
      </button>
    </form>
  );
}

function JoinCard({ message }: { message: string | null }) {
  const actions = useActions();
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <section className="card" aria-labelledby="join-title">
      <h2 id="join-title" className="card-title">
        Join your other rigs
      </h2>
      <p className="muted">
        This rig pays to an address it has not proven yet, so it cannot see or steer the rigs paying there, and they cannot see it. On one of them, open Rigs and make a pairing code (or run{' '}
        <span className="mono">idleforge rigs pair</span>), then enter it here.
      </p>
      {message ? <p className="muted small">{message}</p> : null}
      <form
        className="row wrap"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          actions
            .joinRigs(code)
            .catch((err: unknown) => setError(err instanceof EngineApiError ? err.message : messageOf(err)))
            .finally(() => setBusy(false));
        }}
      >
        <Field label="Pairing code" hint="12 letters and digits, like ABCD-EFGH-JKLM; it works once, for 10 minutes." error={error}>
          {({ id, describedBy, invalid }) => <input id={id} aria-describedby={describedBy} aria-invalid={invalid} value={code} onChange={(e) => setCode(e.target.value)} autoComplete="off" />}
        </Field>
        <button type="submit" className="btn btn-primary" disabled={busy || code.trim() === ''}>
          {busy ? 'Joining…' : 'Join'}
        </button>
      </form>
    </section>
  );
}

function PairCard() {
  const actions = useActions();
  const [code, setCode] = useState<{ code: string; expiresAt: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <section className="card" aria-labelledby="pair-title">
      <div className="card-head">
        <h2 id="pair-title" className="card-title">
          Add a rig
        </h2>
        <button
          type="button"
          className="btn btn-small"
          onClick={() => {
            setError(null);
            actions.rigPairingCode().then(setCode, (e: unknown) => setError(messageOf(e)));
          }}
        >
          Make a pairing code
        </button>
      </div>
      <p className="muted small">
        Set the other PC to pay to the same address (Wallet: watch this address), then enter the code in its Rigs page or run <span className="mono">idleforge rigs join CODE</span> there.
      </p>
      {code ? (
        <p>
          Pairing code: <strong className="mono">{code.code}</strong> <span className="muted small">works once, until {formatDateTime(code.expiresAt)}</span>
        </p>
      ) : null}
      {error ? <ErrorState message={error} /> : null}
    </section>
  );
}

function AlertSettings({ offlineAfterS }: { offlineAfterS: number }) {
  const settings = useDashboard((s) => s.settings.data?.settings ?? null);
  const actions = useActions();
  const [hook, setHook] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const webhook = hook ?? settings?.rigAlertWebhook ?? '';
  const save = async (patch: Parameters<typeof actions.saveSettings>[0]): Promise<void> => {
    try {
      setError(null);
      await actions.saveSettings(patch);
      setHook(null);
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return (
    <section className="card" aria-labelledby="alerts-title">
      <h2 id="alerts-title" className="card-title">
        Alerts
      </h2>
      <div className="row wrap">
        <Field label="Show a rig offline after" hint="Without a heartbeat for this long, a rig is shown offline and your other rigs tell you.">
          {({ id, describedBy }) => (
            <select id={id} aria-describedby={describedBy} value={String(offlineAfterS)} onChange={(e) => void save({ rigOfflineAfterS: Number(e.target.value) })}>
              {[...new Set([...OFFLINE_CHOICES, offlineAfterS])].sort((a, b) => a - b).map((s) => (
                <option key={s} value={s}>
                  {s < 60 ? `${s} seconds` : `${s / 60} minute${s === 60 ? '' : 's'}`}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <form
        className="row wrap"
        onSubmit={(e) => {
          e.preventDefault();
          void save({ rigAlertWebhook: webhook.trim() === '' ? null : webhook.trim() });
        }}
      >
        <Field label="Alert webhook (optional)" hint="A phone push service (like an ntfy.sh topic) or a chat webhook. This PC calls it; the hub never does." error={error}>
          {({ id, describedBy, invalid }) => (
            <input id={id} type="url" aria-describedby={describedBy} aria-invalid={invalid} value={webhook} placeholder="https://ntfy.sh/my-rigs" onChange={(e) => setHook(e.target.value)} />
          )}
        </Field>
        <button type="submit" className="btn btn-small">
          Save webhook
        </button>
      </form>
    </section>
  );
}
