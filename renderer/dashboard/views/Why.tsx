/**
 * "Why am I not earning?": the reason now, every condition with its reading (the one that stops
 * work marked), and the history of the engine's states.
 */
import { useEffect, type ReactElement } from 'react';
import type { EngineResult, EngineStatusView } from '../../../protocol/engine-api.js';
import { Icon, type IconName } from '../components/Icon.js';
import { EmptyState, Loadable } from '../components/States.js';
import { STATE_LABEL } from '../components/StatusMeta.js';
import { useActions, useDashboard } from '../context.js';
import { formatDateTimeSeconds, formatTime } from '../format.js';

type Diagnostics = EngineResult<'getDiagnostics'>;
interface Check {
  code: string;
  icon: IconName;
  title: string;
  ok: boolean;
  detail: string;
}

/** Each condition in plain words; `ok: false` where it stops work now. */
export function checks(d: Diagnostics, status: EngineStatusView | null): Check[] {
  const idle =
    d.idleSeconds === 'always'
      ? 'No keyboard or mouse on this machine: it always counts as away.'
      : d.idleSeconds === null
        ? 'Idle time cannot be read here, so the machine counts as away.'
        : d.idleMinutesNeeded === 0
          ? 'Set to start at once.'
          : `Away for ${Math.floor(d.idleSeconds / 60)} of ${d.idleMinutesNeeded} minutes.`;
  const temp =
    d.temperatureC === null
      ? 'The temperature cannot be read on this machine.'
      : d.blockedBy === 'too-hot'
        ? `${Math.round(d.temperatureC)} °C: cooling down to ${d.resumeAtC} °C before resuming.`
        : `${Math.round(d.temperatureC)} °C, under the ${d.temperatureLimitC} °C limit.`;
  const fans =
    d.fanPercent === null || d.fanPercent === undefined
      ? d.fanCapPercent
        ? ` This hour’s preset caps the fans at ${d.fanCapPercent} %, but their speed cannot be read here, so the cap does nothing.`
        : ''
      : d.fanCapPercent
        ? ` Fans at ${Math.round(d.fanPercent)} %, held under ${d.fanCapPercent} % by working a little cooler.`
        : ` Fans at ${Math.round(d.fanPercent)} %.`;
  const list: Check[] = [
    { code: 'no-wallet', icon: 'wallet', title: 'Wallet', ok: d.blockedBy !== 'no-wallet', detail: d.blockedBy === 'no-wallet' ? 'No wallet yet: set one up to be paid.' : 'Set up.' },
    {
      code: 'paused',
      icon: 'pause',
      title: 'Pause',
      ok: d.pause.kind === 'none',
      detail:
        d.pause.kind === 'paused'
          ? 'Paused by you.'
          : d.pause.kind === 'snoozed'
            ? `Snoozed until ${formatTime(d.pause.until)}.`
            : d.pause.kind === 'until-gone'
              ? `Paused by you until ${d.pause.program} closes.`
              : 'Not paused.',
    },
    { code: 'on-battery', icon: 'battery', title: 'Power', ok: !(d.onBattery === true && !d.allowOnBattery), detail: d.onBattery === true ? (d.allowOnBattery ? 'On battery (allowed in Settings).' : 'On battery: plug in to work.') : d.onBattery === null ? 'Power source unknown.' : 'Plugged in.' },
    { code: 'blocked-program', icon: 'gamepad', title: 'Games and programs', ok: d.blockedProgram === null, detail: d.blockedProgram ? `${d.blockedProgram} is running.` : 'No blocked program is running.' },
    {
      code: 'fullscreen',
      icon: 'eye',
      title: 'Fullscreen window',
      ok: d.blockedBy !== 'fullscreen',
      detail: d.blockedBy === 'fullscreen' ? `${d.reason.replace(/^Paused: a/, 'A')}.` : 'No app fills the screen (where this can be told).',
    },
    {
      code: 'gpu-process',
      icon: 'gpu',
      title: 'Other GPU programs',
      ok: d.blockedBy !== 'gpu-process',
      detail: d.blockedBy === 'gpu-process' ? `${d.reason.replace(/^Paused: /, '')}.` : 'No other program is using the GPU (where this can be told).',
    },
    { code: 'outside-schedule', icon: 'calendar', title: 'Schedule', ok: !d.scheduleEnabled || d.inSchedule, detail: !d.scheduleEnabled ? 'Off: any hour.' : d.inSchedule ? 'Inside your hours.' : 'Outside your hours.' },
    { code: 'too-hot', icon: 'thermo', title: 'Temperature', ok: d.blockedBy !== 'too-hot', detail: `${temp}${fans}` },
    {
      code: 'gpu-busy',
      icon: 'gpu',
      title: 'Other GPU use',
      ok: d.blockedBy !== 'gpu-busy',
      detail: d.otherGpuUsePercent === null ? 'Not measured (or the worker is using it).' : `${Math.round(d.otherGpuUsePercent)} % used by other programs (limit ${d.gpuBusyPercent} %).`,
    },
    { code: 'user-active', icon: 'user', title: 'You are away', ok: d.blockedBy !== 'user-active', detail: idle },
  ];
  if (d.gpuFaults) {
    const g = d.gpuFaults;
    list.push({
      code: 'gpu-faults',
      icon: 'gpu',
      title: 'Correct results',
      ok: d.blockedBy !== 'gpu-faults',
      detail: g.pausedReason
        ? `${g.pausedReason}. Check its clocks and cooling, then resume: one more wrong result may get this worker suspended by the hub.`
        : g.faults === 0
          ? `No wrong results or crashes in the last ${g.window} tasks.`
          : `${g.faults} wrong result${g.faults === 1 ? '' : 's'} or crash${g.faults === 1 ? '' : 'es'} in the last ${g.window} tasks: working ${g.capPercent ?? 100} % of the time until ${g.window} tasks in a row are right; work pauses at ${g.pauseAt}.`,
    });
  }
  if (d.profit) {
    list.push({
      code: 'unprofitable',
      icon: 'wallet',
      title: 'Electricity',
      ok: d.blockedBy !== 'unprofitable',
      detail: !d.profit.only
        ? 'Works whatever electricity costs (Settings → What it costs).'
        : d.profit.unprofitable === true
          ? 'Electricity now costs more than this GPU earns: work waits for a cheaper hour or better rates.'
          : d.profit.unprofitable === false
            ? 'This GPU earns more than its electricity costs now.'
            : 'Cannot tell whether work pays (a price, the token’s value or an earning rate is missing): work is not stopped on a guess.',
    });
  }
  if (status && (status.state === 'offline' || status.state === 'error')) {
    list.push({ code: 'hub', icon: 'cloud', title: 'Hub', ok: false, detail: status.reason });
  }
  return list;
}

export function Why() {
  const diagnostics = useDashboard((s) => s.diagnostics);
  const history = useDashboard((s) => s.stateHistory);
  const status = useDashboard((s) => s.status.data);
  const actions = useActions();
  // Idle time and temperature move on their own: read again every few seconds while shown.
  useEffect(() => {
    const t = setInterval(() => void actions.refresh('why'), 3000);
    return () => clearInterval(t);
  }, [actions]);

  return (
    <div className="why">
      <section className={`card hero-small tone-${status?.state ?? 'starting'}`} aria-labelledby="why-now">
        <p className="stat-label">Right now</p>
        <p id="why-now" className="hero-sentence" role="status" aria-live="polite">
          {status ? (status.state === 'working' ? 'Earning: nothing stops work.' : status.reason) : 'Asking the engine…'}
        </p>
        {lastHandoff(history.data?.changes) ?? null}
        {status?.blockedBy === 'gpu-faults' ? (
          <button type="button" className="btn btn-primary" onClick={() => void actions.resume()}>
            <Icon name="play" size={18} /> I have checked the GPU: resume
          </button>
        ) : null}
        {status?.blockedBy === 'paused' || status?.blockedBy === 'snoozed' ? (
          <button type="button" className="btn btn-primary" onClick={() => void actions.resume()}>
            <Icon name="play" size={18} /> Resume now
          </button>
        ) : null}
      </section>
      <section className="card" aria-labelledby="checks-title">
        <h2 id="checks-title" className="card-title">
          What the worker checks
        </h2>
        <Loadable resource={diagnostics} onRetry={() => void actions.refresh()} lines={6}>
          {(d) => (
            <ul className="checks">
              {checks(d, status).map((c) => (
                <li key={c.code} className={`check-item${c.ok ? ' is-ok' : ' is-blocking'}`}>
                  <span className="check-icon">
                    <Icon name={c.icon} size={18} />
                  </span>
                  <span className="check-title">{c.title}</span>
                  <span className="check-detail">{c.detail}</span>
                  <span className="check-mark">
                    <Icon name={c.ok ? 'check' : 'alert'} size={16} />
                    <span className="sr-only">{c.ok ? 'fine' : 'stops work'}</span>
                  </span>
                </li>
              ))}
            </ul>
          )}
        </Loadable>
      </section>
      <section className="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title" className="card-title">
          What happened
        </h2>
        <Loadable resource={history} onRetry={() => void actions.refresh()} lines={5}>
          {(h) =>
            h.changes.length === 0 ? (
              <EmptyState icon="clock" title="Nothing yet">
                Each change of state is kept here, so you can see later why the GPU did or did not work.
              </EmptyState>
            ) : (
              <ol className="timeline">
                {h.changes.map((c, i) => (
                  <li key={`${c.at} ${i}`} className={`timeline-item tone-${c.state}`}>
                    <time dateTime={c.at}>{formatDateTimeSeconds(c.at)}</time>
                    <span className="timeline-state">{STATE_LABEL[c.state]}</span>
                    <span className="timeline-reason">
                      {c.reason}
                      {c.handoffMs !== undefined ? <span className={`handoff-badge${c.handoffMs > HANDOFF_TARGET_MS ? ' is-slow' : ''}`}>GPU freed in {c.handoffMs} ms</span> : null}
                    </span>
                  </li>
                ))}
              </ol>
            )
          }
        </Loadable>
      </section>
    </div>
  );
}

/** The hand-back target: GPU memory freed within 250 ms of noticing the user. */
const HANDOFF_TARGET_MS = 250;

/** "The GPU was last handed back in 14 ms", from the newest hand-back in the history. */
function lastHandoff(changes: readonly { at: string; handoffMs?: number }[] | undefined): ReactElement | null {
  const last = changes?.find((c) => c.handoffMs !== undefined);
  if (!last || last.handoffMs === undefined) return null;
  return (
    <p className="stat-note">
      Last time something needed the GPU, its memory was free {last.handoffMs} ms after Idleforge noticed
      {last.handoffMs > HANDOFF_TARGET_MS ? ' (slower than the 250 ms it aims for)' : ''} ({formatDateTimeSeconds(last.at)}).
    </p>
  );
}
