/** Blocked programs: chips to remove, a box to type a name, and the programs running now to pick from. */
import { useEffect, useState, type FormEvent } from 'react';
import { programKey as key, SettingsSchema } from '../../../protocol/settings.js';
import { useActions, useDashboard } from '../context.js';
import { Icon } from './Icon.js';

const NameSchema = SettingsSchema.shape.blockedPrograms.element;

export function ProgramPicker({ value, onChange }: { value: string[]; onChange: (next: string[]) => void }) {
  const programs = useDashboard((s) => s.programs);
  const { loadPrograms } = useActions();
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void loadPrograms();
  }, [loadPrograms]);

  const blocked = new Set(value.map(key));
  const add = (name: string): void => {
    const parsed = NameSchema.safeParse(name);
    if (!parsed.success) return setError(parsed.error.issues[0]?.message ?? 'not a program name');
    setError(null);
    if (!blocked.has(key(parsed.data))) onChange([...value, parsed.data]);
    setText('');
  };
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    add(text);
  };
  const filter = text.trim().toLowerCase();
  const running = (programs.data?.programs ?? []).filter((p) => !blocked.has(key(p)) && (!filter || p.toLowerCase().includes(filter)));

  return (
    <div className="picker">
      {value.length > 0 ? (
        <ul className="chips" aria-label="Your blocked programs">
          {value.map((p) => (
            <li key={p} className="chip chip-static">
              <span>{p}</span>
              <button type="button" className="chip-x" aria-label={`Stop blocking ${p}`} onClick={() => onChange(value.filter((v) => v !== p))}>
                <Icon name="x" size={14} />
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small">None of your own yet.</p>
      )}
      <div className="row" role="search">
        <input
          aria-label="Program to block, or filter the running ones"
          placeholder="game.exe"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') submit(e);
          }}
          aria-invalid={!!error}
          spellCheck={false}
        />
        <button type="button" className="btn" onClick={() => add(text)} disabled={text.trim() === ''}>
          Block it
        </button>
      </div>
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="running">
        <div className="row space">
          <span className="field-label">Running now</span>
          <button type="button" className="btn btn-ghost btn-small" onClick={() => void loadPrograms()}>
            <Icon name="refresh" size={14} /> Refresh
          </button>
        </div>
        {programs.data?.programs === null ? (
          <p className="muted small">This machine cannot list its programs; type the name instead.</p>
        ) : running.length === 0 ? (
          <p className="muted small">{programs.loading ? 'Looking…' : filter ? 'No running program matches.' : 'Nothing else is running.'}</p>
        ) : (
          <ul className="running-list" aria-label="Running programs">
            {running.slice(0, 60).map((p) => (
              <li key={p}>
                <button type="button" className="chip" onClick={() => add(p)} aria-label={`Block ${p}`}>
                  <Icon name="gamepad" size={14} /> {p}
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
