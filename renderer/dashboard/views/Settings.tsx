/**
 * Settings: when to work (idle minutes, the weekly schedule of presets), games and programs that stop work,
 * the GPU (temperature limit and hysteresis, the Custom preset's target and cap, which GPUs), the app (launch at login,
 * hub and RPC addresses). Checked here with the same schema the engine uses, in plain words;
 * saved by the engine, so they are kept across restarts.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { INTENSITIES, SettingsSchema, THERMAL_MARGIN_C, type Settings as SettingsValue, type SettingsPatch } from '../../../protocol/settings.js';
import { Field, NumberField, Switch } from '../components/Fields.js';
import { Icon } from '../components/Icon.js';
import { ProgramPicker } from '../components/ProgramPicker.js';
import { ScheduleGrid } from '../components/ScheduleGrid.js';
import { ErrorState, Skeleton } from '../components/States.js';
import { Segmented } from '../components/Tabs.js';
import { useActions, useDashboard } from '../context.js';
import { messageOf } from '../store.js';
import { flatGrid, PriceGrid } from '../components/PriceGrid.js';
import { formatMoney, moneyText, parseMoney } from '../money.js';

const NUMBER_FIELDS = ['idleMinutes', 'temperatureLimitC', 'hysteresisC', 'gpuBusyPercent', 'customTargetC'] as const;
type NumberKey = (typeof NUMBER_FIELDS)[number];
/** What is being edited: numbers as typed (a box may be empty for a moment), the rest as values. */
type Draft = Omit<SettingsValue, NumberKey | 'rpcUrl'> &
  Record<NumberKey, string> & {
    rpcUrl: string;
    /** The flat electricity price and the token's value as typed (a decimal of the currency). */
    priceText: string;
    tokenValueText: string;
  };

export const FIELD_WORDS: Record<keyof SettingsValue, string> = {
  idleMinutes: 'Idle minutes',
  scheduleEnabled: 'Schedule',
  schedule: 'Schedule',
  useBuiltinBlocklist: 'Built-in game list',
  blockedPrograms: 'Blocked programs',
  gpuBusyPercent: 'GPU busy limit',
  allowOnBattery: 'Battery',
  temperatureLimitC: 'Temperature limit',
  hysteresisC: 'Cool-down margin',
  intensity: 'Custom cap',
  customTargetC: 'Custom target',
  gpus: 'GPUs',
  launchAtLogin: 'Launch at login',
  pauseShortcut: 'Pause shortcut',
  hubUrl: 'Hub address',
  rpcUrl: 'Chain RPC address',
  electricity: 'Electricity price',
  tokenValue: 'Token value',
  workOnlyWhenProfitable: 'Only while it pays',
  // Set on the Rigs page.
  rigName: 'Rig name',
  rigOfflineAfterS: 'Offline after',
  rigAlertWebhook: 'Alert webhook',
};

const toDraft = (s: SettingsValue): Draft => ({
  ...s,
  idleMinutes: String(s.idleMinutes),
  temperatureLimitC: String(s.temperatureLimitC),
  hysteresisC: String(s.hysteresisC),
  gpuBusyPercent: String(s.gpuBusyPercent),
  customTargetC: String(s.customTargetC),
  rpcUrl: s.rpcUrl ?? '',
  priceText: moneyText(s.electricity.perKwh),
  tokenValueText: moneyText(s.tokenValue),
});

/** The draft as settings, or the problem of each field in plain words. */
export function checkDraft(d: Draft): { settings: SettingsValue } | { errors: Partial<Record<keyof SettingsValue, string>> } {
  const errors: Partial<Record<keyof SettingsValue, string>> = {};
  const numbers: Partial<Record<NumberKey, number>> = {};
  for (const k of NUMBER_FIELDS) {
    const text = d[k].trim();
    const n = Number(text);
    if (text === '' || !Number.isInteger(n)) errors[k] = 'enter a whole number';
    else numbers[k] = n;
  }
  const price = parseMoney(d.priceText);
  if (price === 'invalid') errors.electricity = 'enter a price like 0.30 (up to six decimals)';
  const tokenValue = parseMoney(d.tokenValueText);
  if (tokenValue === 'invalid') errors.tokenValue = 'enter a value like 0.05, or leave it empty for the hub’s reference price';
  const money = {
    electricity: { ...d.electricity, currency: d.electricity.currency.trim().toUpperCase(), perKwh: price === 'invalid' ? null : price },
    tokenValue: tokenValue === 'invalid' ? null : tokenValue,
  };
  const parsed = SettingsSchema.safeParse({ ...d, ...numbers, ...money, rpcUrl: d.rpcUrl.trim() === '' ? null : d.rpcUrl.trim(), hubUrl: d.hubUrl.trim() });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const k = issue.path[0] as keyof SettingsValue | undefined;
      if (k && !errors[k]) errors[k] = issue.message;
    }
  }
  if (Object.keys(errors).length > 0 || !parsed.success) return { errors };
  return { settings: parsed.data };
}

function changes(before: SettingsValue, after: SettingsValue): SettingsPatch {
  const patch: Record<string, unknown> = {};
  for (const k of Object.keys(after) as Array<keyof SettingsValue>) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) patch[k] = after[k];
  }
  return patch as SettingsPatch;
}

/** The work slows smoothly to hold the target; one above the limit's margin is held under it. */
function customTargetHint(d: Draft): string {
  const target = Number(d.customTargetC);
  const ceiling = Number(d.temperatureLimitC) - THERMAL_MARGIN_C;
  if (d.customTargetC.trim() !== '' && Number.isFinite(target) && Number.isFinite(ceiling) && target > ceiling) {
    return `Held at ${ceiling} °C: every preset stays ${THERMAL_MARGIN_C} °C under the temperature limit.`;
  }
  return 'Work slows down smoothly to hold the GPU here, instead of stopping at the limit.';
}

function GpuChoice({ value, onChange }: { value: string[]; onChange: (v: string[]) => void }) {
  const gpus = useDashboard((s) => s.gpus.data);
  const models = gpus ? [...new Set(gpus.gpus.map((g) => g.model))] : [];
  return (
    <fieldset className="fieldset">
      <legend className="field-label">GPUs to use</legend>
      <label className="check">
        <input type="radio" name="gpu-auto" checked={value.length === 0} onChange={() => onChange([])} />
        <span>The best one found (automatic)</span>
      </label>
      {models.map((m) => (
        <label key={m} className="check">
          <input type="checkbox" checked={value.includes(m)} onChange={(e) => onChange(e.target.checked ? [...value, m] : value.filter((v) => v !== m))} />
          <span>{m}</span>
        </label>
      ))}
      {gpus === null ? <span className="field-hint">Looking for GPUs…</span> : models.length === 0 ? <span className="field-hint">No GPU was detected on this machine.</span> : null}
    </fieldset>
  );
}

function CostsSection({ draft, set, shown }: { draft: Draft; set: <K extends keyof Draft>(k: K, v: Draft[K]) => void; shown: (k: keyof SettingsValue) => string | null }) {
  const outlook = useDashboard((s) => s.outlook.data);
  const e = draft.electricity;
  const currency = e.currency.trim().toUpperCase() || '…';
  const flat = parseMoney(draft.priceText);
  const reference = outlook?.tokenValue?.source === 'hub-reference' ? outlook.tokenValue : null;
  const refHint = reference
    ? `Empty: the hub’s reference price, ${formatMoney(reference.perToken, reference.currency)} a token${reference.label ? ` (${reference.label})` : ''}. It is a reference the hub publishes, not a market price.`
    : 'Empty: the hub’s reference price, where it publishes one in this currency. It is a reference, not a market price.';
  return (
    <section className="card" aria-labelledby="costs-title">
      <h2 id="costs-title" className="card-title">
        <Icon name="wallet" size={18} /> What it costs
      </h2>
      <div className="grid-2">
        <Field label="Currency" error={shown('electricity') && /currency/.test(shown('electricity') ?? '') ? shown('electricity') : null} hint="Its three-letter code, like EUR, USD or GBP.">
          {({ id, describedBy, invalid }) => (
            <input id={id} value={e.currency} maxLength={3} onChange={(ev) => set('electricity', { ...e, currency: ev.target.value })} aria-describedby={describedBy} aria-invalid={invalid} spellCheck={false} />
          )}
        </Field>
        <Field label={`Electricity price (${currency} per kWh)`} error={shown('electricity') && !/currency/.test(shown('electricity') ?? '') ? shown('electricity') : null} hint={e.byHour ? 'The grid starts at this price; each hour painted below keeps its own.' : 'What your supplier charges; empty: costs are not counted.'}>
          {({ id, describedBy, invalid }) => (
            <input id={id} inputMode="decimal" value={draft.priceText} placeholder="0.30" onChange={(ev) => set('priceText', ev.target.value)} aria-describedby={describedBy} aria-invalid={invalid} />
          )}
        </Field>
      </div>
      <Switch
        label="The price changes by hour of the week"
        checked={e.byHour !== null}
        onChange={(v) => set('electricity', { ...e, byHour: v ? flatGrid(typeof flat === 'number' ? flat : 0) : null })}
        hint="For a night tariff or dynamic prices: paint each hour of the week with what it costs."
      />
      {e.byHour ? <PriceGrid value={e.byHour} currency={currency} onChange={(g) => set('electricity', { ...e, byHour: g })} /> : null}
      <Field label={`Value of one token (${currency})`} error={shown('tokenValue')} hint={refHint}>
        {({ id, describedBy, invalid }) => (
          <input
            id={id}
            inputMode="decimal"
            value={draft.tokenValueText}
            placeholder={reference ? moneyText(reference.perToken) : ''}
            onChange={(ev) => set('tokenValueText', ev.target.value)}
            aria-describedby={describedBy}
            aria-invalid={invalid}
          />
        )}
      </Field>
      <Switch
        label="Work only while it earns more than the electricity costs"
        checked={draft.workOnlyWhenProfitable}
        onChange={(v) => set('workOnlyWhenProfitable', v)}
        hint="Needs an electricity price and a token value. Work waits while an hour’s electricity costs more than the hour earns; where either is unknown, work is never stopped on a guess."
      />
    </section>
  );
}

function SettingsForm({ saved, problems }: { saved: SettingsValue; problems: string[] }) {
  const actions = useActions();
  const runningHub = useDashboard((s) => s.status.data?.hubUrl ?? null);
  const [draft, setDraft] = useState<Draft>(() => toDraft(saved));
  const [saving, setSaving] = useState(false);
  const [serverError, setServerError] = useState<string | null>(null);
  const [tried, setTried] = useState(false);
  // A save elsewhere (another window, the command line) shows up when this form is not being edited.
  const savedKey = JSON.stringify(saved);
  const check = useMemo(() => checkDraft(draft), [draft]);
  const dirty = 'settings' in check ? Object.keys(changes(saved, check.settings)).length > 0 : true;
  useEffect(() => {
    if (!dirty) setDraft(toDraft(saved));
  }, [savedKey]); // Only when the saved settings change, not on every keystroke.

  const errors = 'errors' in check ? check.errors : {};
  const shown = (k: keyof SettingsValue): string | null => errors[k] ?? null;
  const set = <K extends keyof Draft>(k: K, v: Draft[K]): void => {
    setServerError(null);
    setDraft((d) => ({ ...d, [k]: v }));
  };

  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setTried(true);
    if (!('settings' in check)) return;
    setSaving(true);
    try {
      await actions.saveSettings(changes(saved, check.settings));
      setTried(false);
    } catch (error) {
      setServerError(messageOf(error));
    } finally {
      setSaving(false);
    }
  };

  const errorList = Object.entries(errors) as Array<[keyof SettingsValue, string]>;
  return (
    <form className="settings" onSubmit={(e) => void save(e)} noValidate aria-label="Settings">
      {problems.length > 0 ? (
        <div className="notice-inline warn" role="status">
          <Icon name="alert" size={18} />
          <span>Some stored settings were damaged and replaced by defaults: {problems.join('; ')}. Saving fixes them.</span>
        </div>
      ) : null}

      <section className="card" aria-labelledby="when-title">
        <h2 id="when-title" className="card-title">
          <Icon name="clock" size={18} /> When to work
        </h2>
        <NumberField
          label="Start after I have been away for"
          unit="minutes"
          min={0}
          max={240}
          value={draft.idleMinutes}
          onChange={(v) => set('idleMinutes', v)}
          error={shown('idleMinutes')}
          hint="No keyboard or mouse for this long; 0 starts at once. Work stops the moment you are back."
        />
        <Switch
          label="Only at the hours I choose"
          checked={draft.scheduleEnabled}
          onChange={(v) => set('scheduleEnabled', v)}
          hint="Paint each hour Off or with a preset: Max, Balanced, Quiet or your Custom one. Off, the GPU stays yours; with the schedule off, Custom applies at every hour."
        />
        <ScheduleGrid value={draft.schedule} onChange={(v) => set('schedule', v)} disabled={!draft.scheduleEnabled} custom={{ targetC: draft.customTargetC, capPercent: draft.intensity }} />
        {shown('schedule') ? <p className="field-error">{shown('schedule')}</p> : null}
      </section>

      <section className="card" aria-labelledby="games-title">
        <h2 id="games-title" className="card-title">
          <Icon name="gamepad" size={18} /> Games and programs
        </h2>
        <Switch label="Stop for popular games (built-in list)" checked={draft.useBuiltinBlocklist} onChange={(v) => set('useBuiltinBlocklist', v)} hint="Steam, Epic and Battle.net games, anti-cheat services and overlays. Launchers idling in the tray do not count." />
        <h3 className="field-label">Also stop while these run</h3>
        <ProgramPicker value={draft.blockedPrograms} onChange={(v) => set('blockedPrograms', v)} />
        {shown('blockedPrograms') ? <p className="field-error">{shown('blockedPrograms')}</p> : null}
      </section>

      <section className="card" aria-labelledby="gpu-title">
        <h2 id="gpu-title" className="card-title">
          <Icon name="thermo" size={18} /> GPU
        </h2>
        <div className="grid-2">
          <NumberField
            label="Temperature limit"
            unit="°C"
            min={40}
            max={100}
            value={draft.temperatureLimitC}
            onChange={(v) => set('temperatureLimitC', v)}
            error={shown('temperatureLimitC')}
            hint="The hard stop: work stops when the GPU reaches it."
          />
          <NumberField
            label="Cool-down margin"
            unit="°C"
            min={1}
            max={30}
            value={draft.hysteresisC}
            onChange={(v) => set('hysteresisC', v)}
            error={shown('hysteresisC')}
            hint={`After a stop for heat, work resumes at ${Number(draft.temperatureLimitC) - Number(draft.hysteresisC) || '…'} °C.`}
          />
        </div>
        <h3 className="field-label">Custom preset</h3>
        <div className="grid-2">
          <NumberField
            label="Custom target temperature"
            unit="°C"
            min={40}
            max={100}
            value={draft.customTargetC}
            onChange={(v) => set('customTargetC', v)}
            error={shown('customTargetC')}
            hint={customTargetHint(draft)}
          />
          <Field label="Custom cap" hint="The most of the time the GPU works on tasks: lower runs cooler and quieter, and earns less.">
            {() => (
              <Segmented label="Custom cap" options={INTENSITIES.map((i) => ({ value: i, label: `${i} %` }))} value={draft.intensity} onChange={(v) => set('intensity', v)} />
            )}
          </Field>
        </div>
        <NumberField
          label="Pause when another program uses the GPU above"
          unit="%"
          min={1}
          max={100}
          value={draft.gpuBusyPercent}
          onChange={(v) => set('gpuBusyPercent', v)}
          error={shown('gpuBusyPercent')}
          hint="Where the GPU's load can be read: a game or a render you started yourself wins."
        />
        <Switch label="Work on battery power" checked={draft.allowOnBattery} onChange={(v) => set('allowOnBattery', v)} hint="Off: a laptop works only when plugged in." />
        <GpuChoice value={draft.gpus} onChange={(v) => set('gpus', v)} />
      </section>

      <CostsSection draft={draft} set={set} shown={shown} />

      <section className="card" aria-labelledby="app-title">
        <h2 id="app-title" className="card-title">
          <Icon name="settings" size={18} /> App and network
        </h2>
        <Switch label="Start Idleforge when I log in" checked={draft.launchAtLogin} onChange={(v) => set('launchAtLogin', v)} hint="In the desktop app; a headless worker is started by your own service manager." />
        <Field
          label="Pause shortcut"
          error={shown('pauseShortcut')}
          hint="In the desktop app, pauses and resumes from anywhere, even in a fullscreen game. Click the box and press the keys; Backspace for none."
        >
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              value={draft.pauseShortcut === '' ? '' : draft.pauseShortcut}
              placeholder="None"
              readOnly
              onKeyDown={(e) => {
                if (e.key === 'Tab') return;
                e.preventDefault();
                const next = acceleratorOf(e);
                if (next !== null) set('pauseShortcut', next);
              }}
              aria-describedby={describedBy}
              aria-invalid={invalid}
            />
          )}
        </Field>
        <Field
          label="Hub address"
          error={shown('hubUrl')}
          hint={
            runningHub && runningHub !== saved.hubUrl.replace(/\/+$/, '')
              ? `The network's coordinator. This worker was started for ${runningHub} and works for it until it restarts.`
              : "The network's coordinator that hands out tasks and pays for them. A change applies when the worker restarts."
          }
        >
          {({ id, describedBy, invalid }) => <input id={id} value={draft.hubUrl} onChange={(e) => set('hubUrl', e.target.value)} aria-describedby={describedBy} aria-invalid={invalid} spellCheck={false} />}
        </Field>
        <Field label="Chain RPC address" error={shown('rpcUrl')} hint="Where balances are read (optional). Leave empty for none.">
          {({ id, describedBy, invalid }) => (
            <input id={id} value={draft.rpcUrl} onChange={(e) => set('rpcUrl', e.target.value)} aria-describedby={describedBy} aria-invalid={invalid} placeholder="http://127.0.0.1:8545" spellCheck={false} />
          )}
        </Field>
      </section>

      <div className={`savebar${dirty ? ' is-dirty' : ''}`} role="region" aria-label="Save settings">
        {tried && errorList.length > 0 ? (
          <p className="form-error" role="alert">
            <Icon name="alert" size={16} /> Fix {errorList.length === 1 ? 'this' : 'these'} first: {errorList.map(([k, m]) => `${FIELD_WORDS[k]}: ${m}`).join('; ')}
          </p>
        ) : serverError ? (
          <p className="form-error" role="alert">
            <Icon name="alert" size={16} /> Not saved: {serverError}
          </p>
        ) : (
          <p className="muted small">{dirty ? 'You have unsaved changes.' : 'All changes saved.'}</p>
        )}
        <div className="row">
          <button type="button" className="btn btn-ghost" disabled={!dirty || saving} onClick={() => { setDraft(toDraft(saved)); setTried(false); setServerError(null); }}>
            Discard
          </button>
          <button type="submit" className="btn btn-primary" disabled={!dirty || saving}>
            {saving ? 'Saving…' : 'Save changes'}
          </button>
        </div>
      </div>
    </form>
  );
}

export function Settings() {
  const settings = useDashboard((s) => s.settings);
  const { refresh } = useActions();
  if (!settings.data) {
    return settings.error ? <ErrorState message={settings.error} onRetry={() => void refresh()} /> : <Skeleton lines={8} label="Loading settings" />;
  }
  return <SettingsForm saved={settings.data.settings} problems={settings.data.problems} />;
}

/**
 * The Electron accelerator for a key press (Control+Alt+P), '' for Backspace or Delete alone
 * (no shortcut), or null while only modifiers are held or the key cannot be a shortcut.
 */
export function acceleratorOf(e: { key: string; code: string; ctrlKey: boolean; altKey: boolean; shiftKey: boolean; metaKey: boolean }): string | null {
  const modifiers = [e.ctrlKey && 'Control', e.altKey && 'Alt', e.shiftKey && 'Shift', e.metaKey && 'Super'].filter((m): m is string => typeof m === 'string');
  if (modifiers.length === 0) return e.key === 'Backspace' || e.key === 'Delete' ? '' : null;
  const key = /^Key[A-Z]$/.test(e.code) ? e.code.slice(3) : /^Digit[0-9]$/.test(e.code) ? e.code.slice(5) : /^F([1-9]|1[0-9]|2[0-4])$/.test(e.key) ? e.key : null;
  return key === null ? null : [...modifiers, key].join('+');
}
